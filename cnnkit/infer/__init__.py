"""Using a trained network: image decoding (``images``), MNIST-style preprocessing, prediction, the
explanation of an answer, fine-tuning on the user's drawings, ImageNet photos and the page's charts."""

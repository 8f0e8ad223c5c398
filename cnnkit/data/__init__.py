"""Datasets as normalized in-memory tensors: MNIST and Fashion-MNIST from IDX files (``idx``) or torchvision
(``datasets``)."""

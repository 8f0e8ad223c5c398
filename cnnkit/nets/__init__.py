"""The networks of the notes: the ConvNet/LeNet builder (``builder``), checkpoints that carry their card
(``checkpoints``), layer tables of any model (``summary``) and the shipped model (``shipped/``)."""

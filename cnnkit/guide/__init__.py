"""The architecture guide's engine: which architectures, their numbers computed live on ``meta``, the
building blocks to play with, and the guide's Plotly charts.

``registry`` holds the facts (years, authors, builders, libraries), ``meta`` builds networks without
weights and reads torchvision's weights metadata, ``totals`` the parameter and multiply–add totals and the
comparison, ``layers`` the layer table and block chain, ``transfer`` the transfer-learning numbers,
``snippets`` the code to copy, ``blocks`` convolution, pooling and activations on a picture, ``charts``
the figures.
"""

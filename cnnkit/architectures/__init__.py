"""The architecture guide's engine: which architectures, and their figures computed live on ``meta``.

``registry`` holds the facts (years, authors, builders, libraries), ``meta`` builds networks without
weights and reads torchvision's weights metadata, ``figures`` the totals and the comparison,
``layers`` the layer table and block chain, ``transfer`` the transfer-learning numbers, ``snippets``
the code to copy.
"""

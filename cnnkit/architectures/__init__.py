"""The architecture guide's engine: the registry of architectures and their figures, computed live."""

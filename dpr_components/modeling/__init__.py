"""The model rules inference and training share, each once (checkpoints, encoders, reader model, reader decoding),
and models fetched from a package registry. Nothing heavy is imported here: the CLI imports ``fetch`` at start."""

"""The math-in-ML knowledge base: schema, storage, the `kb` command line and the Datasette plugin."""

__version__ = "0.1.0"

"""The math-in-ML knowledge base: schema, storage, the `kb` command line and the Datasette plugin."""

__version__ = "0.1.0"

# The name Datasette serves the knowledge base under, whatever its file is called,
# so JSON API URLs (/kb/...) are the same for everyone.
DATABASE_NAME = "kb"

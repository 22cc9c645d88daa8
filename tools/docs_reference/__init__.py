"""The pages of the documentation that tools/build_docs_reference.py generates from the code."""

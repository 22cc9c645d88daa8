"""The model registry: versions and stages of the bundle artifact, recorded as git tags by GTO."""

"""Built-in distance metrics, face selectors and quality measures."""

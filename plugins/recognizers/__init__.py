"""Built-in face recognizers and their graph tools."""

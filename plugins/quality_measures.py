"""Face image quality measures and error-versus-discard curves (ISO/IEC 29794-5)."""

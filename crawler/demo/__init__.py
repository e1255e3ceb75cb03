"""The bundled demo: fictional local sources about Bentilee Nursery School, served on 127.0.0.1."""

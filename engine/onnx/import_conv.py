"""Importers for convolution and pooling (filled in when the layers exist)."""

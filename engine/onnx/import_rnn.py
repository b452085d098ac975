"""Importers for recurrent operators (filled in when the layers exist)."""

"""The hub: stores alerts and serves operators. Imports nothing from cameras or detection."""

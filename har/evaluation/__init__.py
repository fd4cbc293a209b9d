"""Test metrics and calibration."""

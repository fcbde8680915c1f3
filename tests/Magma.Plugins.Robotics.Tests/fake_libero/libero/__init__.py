"""Fake LIBERO package for Magma.Plugins.Robotics tests (see README.md)."""

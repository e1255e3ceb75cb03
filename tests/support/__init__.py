"""Test helpers shared by every test folder: local servers and the hostile routes."""

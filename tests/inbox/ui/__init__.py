"""Tests of the server-rendered agent inbox."""

"""Helpers the suite shares: documents to test with, a `local serve` in a child process, a fault proxy."""

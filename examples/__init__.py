"""Runnable examples of mud-persistence."""

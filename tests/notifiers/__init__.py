"""Tests of the delivery channels (notifiers/)."""

"""Candidacy screening: sourced rules that turn a patient's facts into a decision."""

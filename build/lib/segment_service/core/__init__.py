"""Conventions shared by every Emporix service this project implements, each written once."""

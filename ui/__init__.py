"""Helpers shared by the pages: the workspace resource, the signed-in user, display labels."""

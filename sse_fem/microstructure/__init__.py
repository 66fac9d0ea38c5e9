"""Microstructure analytics of voxel images and RVEs: connectivity and effective transport."""

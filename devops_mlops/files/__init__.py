"""Local file I/O the use cases share: notebook files (read, written atomically, found under
folders), job and bundle files, a JUnit report on disk, and the one file lock.

A foundation package: the pure logic it feeds lives in :mod:`devops_mlops.core` (which does no
I/O); this package reads and writes the files and hands core the bytes and parsed documents.
"""

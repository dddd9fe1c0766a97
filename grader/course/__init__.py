"""Course tooling around the engine: releases, the leak scan, LMS archives, the demo class, the benchmark."""

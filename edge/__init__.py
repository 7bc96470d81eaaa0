"""On-device runtime: camera/stream sources, sinks and the threaded upscaling pipeline (`edgevsr run`)."""

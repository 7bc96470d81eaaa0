"""Frame sources and sinks: video files, frame folders and single images."""

"""The annotation refinement tool (`depth-pose annotate`): sources of frames, the labels being
made, and the web server of the page that edits them."""

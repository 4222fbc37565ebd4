"""The annotation tool's web server (Flask): the page, frames as PNG, and a JSON API whose every
change is saved at once. It serves only the page's own files, the source's frames and the labels;
no request names a file."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import cv2
import numpy as np
from flask import Flask, Response, abort, jsonify, request
from werkzeug.exceptions import HTTPException

from depth_pose_ros.annotation.sources import (
    AnnotationError,
    Frame,
    FrameSource,
    person_from_skeleton,
)
from depth_pose_ros.annotation.store import (
    LabelStore,
    interpolate,
    parse_people,
    people_payload,
)
from depth_pose_ros.core import schema
from depth_pose_ros.core.skeleton import Skeleton
from depth_pose_ros.core.visualize import colourise_depth
from depth_pose_ros.data.sample import PersonAnnotation

MAX_REQUEST_BYTES = 1 << 20  # one frame's people are a few kB
PAGE_FILES = {"annotate.js": "text/javascript", "annotate.css": "text/css"}
FRAME_CACHE = 8  # decoded frames kept (the current one and those prefetched around it)

Estimate = Callable[[np.ndarray, Any], list[Skeleton]]


@dataclass
class Session:
    """One annotation session: the source, which of its frames in which order, the labels."""

    source: FrameSource
    store: LabelStore
    order: list[int]  # source indices, in the order the user goes through them
    estimate: Estimate | None = None  # pre-fills frames that start without skeletons

    def __post_init__(self) -> None:
        self.keys = self.source.keys()
        self._frames: OrderedDict[int, Frame] = OrderedDict()
        self._lock = threading.Lock()

    def frame(self, number: int) -> Frame:
        """The `number`-th frame of the session (404 past the end)."""
        if not 0 <= number < len(self.order):
            abort(404, f"no frame {number}; the session has {len(self.order)}")
        index = self.order[number]
        with self._lock:
            frame = self._frames.get(index)
            if frame is None:
                frame = self.source.frame(index)
                self._frames[index] = frame
                while len(self._frames) > FRAME_CACHE:
                    self._frames.popitem(last=False)
            self._frames.move_to_end(index)
        return frame

    def people(self, number: int) -> list[PersonAnnotation]:
        """The frame's labels: the user's where they exist, else the source's skeletons, else
        the estimator's (when asked to pre-fill)."""
        frame = self.frame(number)
        if self.store.labelled(frame.key):
            return self.store.frames[frame.key].people
        if frame.people is not None:
            return frame.people
        if self.estimate is None:
            return []
        # kept with the cached frame, so the page's repeated reads do not estimate again
        frame.people = [
            person_from_skeleton(s) for s in self.estimate(frame.depth, frame.intrinsics)
        ]
        for track_id, person in enumerate(frame.people, start=1):
            person.track_id = track_id
        return frame.people


def _error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "expected a JSON object")
    return body


def create_app(session: Session) -> Flask:
    """The Flask app of a session."""
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    page = resources.files("depth_pose_ros.annotation") / "static"

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _error(error.code or 500, error.description or error.name)

    @app.errorhandler(AnnotationError)
    def labels_error(error: AnnotationError) -> Response:
        return _error(400, str(error))

    @app.get("/")
    def index() -> Response:
        return Response((page / "index.html").read_text(), mimetype="text/html")

    @app.get("/static/<name>")
    def static_file(name: str) -> Response:
        if name not in PAGE_FILES:
            abort(404, f"no page file {name}")
        return Response((page / name).read_text(), mimetype=PAGE_FILES[name])

    @app.get("/api/session")
    def session_info() -> Response:
        keys = [session.keys[index] for index in session.order]
        return jsonify(
            {
                "source": session.source.name,
                "out": str(session.store.path),
                "position": min(session.store.position, len(keys) - 1),
                "frames": [{"key": k, "state": session.store.frames[k].state} for k in keys],
                "joints": list(schema.JOINT_NAMES),
                "bones": [list(bone) for bone in schema.BONES],
            }
        )

    @app.get("/api/frames/<int:number>")
    def frame_labels(number: int) -> Response:
        frame = session.frame(number)
        height, width = frame.depth.shape
        return jsonify(
            {
                "number": number,
                "key": frame.key,
                "state": session.store.frames[frame.key].state,
                "width": width,
                "height": height,
                "people": people_payload(session.people(number)),
            }
        )

    @app.put("/api/frames/<int:number>")
    def save_labels(number: int) -> Response:
        body = _json_body()
        frame = session.frame(number)
        people = parse_people(body.get("people"))
        session.store.save_frame(frame, people, str(body.get("state", "edited")))
        return jsonify({"state": session.store.frames[frame.key].state})

    @app.get("/api/frames/<int:number>/depth.png")
    def depth_png(number: int) -> Response:
        try:
            near = float(request.args.get("near", 0.5))
            far = float(request.args.get("far", 6.0))
        except ValueError:
            abort(400, "near and far must be numbers (metres)")
        if not 0 <= near < far <= 100:
            abort(400, f"need 0 <= near < far <= 100 m, got near={near}, far={far}")
        image = colourise_depth(session.frame(number).depth, near, far)
        ok, png = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            abort(500, "cannot encode the frame")
        response = Response(png.tobytes(), mimetype="image/png")
        response.headers["Cache-Control"] = "private, max-age=3600"  # frames never change
        return response

    @app.get("/api/frames/<int:number>/point")
    def point(number: int) -> Response:
        frame = session.frame(number)
        try:
            u, v = float(request.args["u"]), float(request.args["v"])
        except (KeyError, ValueError):
            abort(400, "u and v (pixels) are required numbers")
        height, width = frame.depth.shape
        if not (0 <= u < width and 0 <= v < height):
            abort(400, f"pixel ({u}, {v}) is outside the {width}x{height} image")
        # the median of the valid depth around the pixel, as the 3D lifting reads it
        row, column = int(v), int(u)
        window = frame.depth[max(row - 2, 0) : row + 3, max(column - 2, 0) : column + 3]
        valid = window[np.isfinite(window)]
        if valid.size == 0:
            return jsonify({"depth": None, "xyz": None})
        depth = float(np.median(valid))
        x, y = frame.intrinsics.normalised(np.array([[u, v]]))[0]
        return jsonify({"depth": round(depth, 4), "xyz": [round(c * depth, 4) for c in (x, y, 1)]})

    @app.get("/api/frames/<int:number>/interpolate")
    def interpolated(number: int) -> Response:
        track = request.args.get("track", "")
        if not track.isdigit():
            abort(400, "track must be a person's track id")
        index = session.order[number] if 0 <= number < len(session.order) else -1
        if index < 0:
            abort(404, f"no frame {number}")
        person = interpolate(session.store, session.keys, index, int(track))
        if person is None:
            abort(404, f"person {track} is not labelled both before and after this frame")
        return jsonify({"person": people_payload([person])[0]})

    @app.put("/api/position")
    def position() -> Response:
        number = _json_body().get("position")
        if not isinstance(number, int) or not 0 <= number < len(session.order):
            abort(400, f"position must be a frame number below {len(session.order)}")
        session.store.move_to(number)
        return jsonify({"position": number})

    return app

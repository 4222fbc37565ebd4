"""The annotation page in a real browser (Debian's Chromium driven by Playwright): drag a joint,
change its visibility, undo, redo, next frame, reload, and every edit is in the labels file."""

import concurrent.futures
import json
import threading

import pytest

from depth_pose_ros.annotation.bag_source import BagSource
from depth_pose_ros.annotation.browser import CHROMIUM_ARGS, chromium_path
from depth_pose_ros.annotation.server import Session, create_app
from depth_pose_ros.annotation.store import LabelStore
from depth_pose_ros.ros.bag import DEFAULT_TOPICS
from depth_pose_ros.ros.recordings import write_sequence_bag

CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium here (make test installs Debian's chromium)"
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("annotate-browser")
    recording = write_sequence_bag(
        folder / "rec.mcap", seed=6, seconds=0.2, people=2, progress=False
    )
    topics = (DEFAULT_TOPICS.depth, DEFAULT_TOPICS.camera_info, DEFAULT_TOPICS.ground_truth)
    source = BagSource(str(recording), *topics)
    store = LabelStore(folder / "labels.json", source.name, source.keys())
    session = Session(source, store, list(range(len(source.keys()))))
    from werkzeug.serving import make_server

    http = make_server("127.0.0.1", 0, create_app(session), threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}/", store.path
    http.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()


def labels_of(path, frame_number):
    document = json.loads(path.read_text())
    image = next(i for i in document["images"] if i["id"] == frame_number + 1)
    people = [a for a in document["annotations"] if a["image_id"] == image["id"]]
    return image, [[a["keypoints"][i : i + 3] for i in range(0, 63, 3)] for a in people]


def wait_saved(page, path, frame_number, check):
    """Wait until the labels file holds what `check` wants (saves are asynchronous)."""
    for _ in range(100):
        if path.exists():
            try:
                if check(*labels_of(path, frame_number)):
                    return
            except StopIteration:
                pass
        page.wait_for_timeout(50)
    raise AssertionError(f"labels file never held the expected edit: {path.read_text()[:400]}")


def joint_on_screen(page, person, joint):
    x, y = page.evaluate(
        "([p, j]) => { const k = state.frame.people[p].joints[j]; return toScreen(k[0], k[1]); }",
        [person, joint],
    )
    box = page.locator("#canvas").bounding_box()
    return box["x"] + x, box["y"] + y


def test_drag_visibility_undo_redo_next_frame_and_reload(server, browser):
    url, path = server
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    head = page.evaluate("state.frame.people[0].joints[3]")
    scale = page.evaluate("state.view.scale")

    x, y = joint_on_screen(page, 0, 3)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 40, y + 20, steps=5)
    page.mouse.up()
    moved = (head[0] + 40 / scale, head[1] + 20 / scale)

    def head_at(visibility):
        def check(image, people):
            u, v, seen = people[0][3]
            close = abs(u - moved[0]) < 1.0 and abs(v - moved[1]) < 1.0
            return image["state"] == "edited" and close and seen == visibility

        return check

    wait_saved(page, path, 0, head_at(2))

    page.keyboard.press("1")  # the dragged joint is still selected: occluded
    wait_saved(page, path, 0, head_at(1))
    page.keyboard.press("Control+z")
    wait_saved(page, path, 0, head_at(2))
    page.keyboard.press("Control+y")
    wait_saved(page, path, 0, head_at(1))

    page.keyboard.press("ArrowRight")
    page.wait_for_selector("body[data-frame='1']")
    page.keyboard.press("?")
    assert page.locator("#help").is_visible()

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("state.number") == 1  # resumed where the user was
    page.keyboard.press("ArrowLeft")
    page.wait_for_selector("body[data-frame='0']")
    joint = page.evaluate("state.frame.people[0].joints[3]")
    assert joint[0] == pytest.approx(moved[0], abs=1.0) and joint[2] == 1
    assert "edited" in page.locator("#frames li").first.get_attribute("class")
    wait_saved(page, path, 0, head_at(1))
    page.close()


def test_add_a_person_then_remove_it(server, browser):
    url, path = server
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("body[data-frame='1']")
    before = page.evaluate("state.frame.people.length")
    box = page.locator("#canvas").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 300)
    page.keyboard.press("n")
    wait_saved(page, path, 1, lambda image, people: len(people) == before + 1)
    x, y = joint_on_screen(page, before, 0)
    page.mouse.click(x, y)
    page.keyboard.press("x")
    wait_saved(page, path, 1, lambda image, people: len(people) == before)
    page.close()


def test_interpolate_a_joint_then_the_whole_person(server, browser):
    import urllib.request

    url, path = server

    def put(number, people):
        body = json.dumps({"people": people}).encode()
        request = urllib.request.Request(f"{url}api/frames/{number}", body, method="PUT")
        request.add_header("Content-Type", "application/json")
        urllib.request.urlopen(request, timeout=10).close()

    with urllib.request.urlopen(f"{url}api/frames/2", timeout=10) as response:
        start = json.loads(response.read())["people"][:1]
    end = [dict(start[0], joints=[[u + 20, v + 10, 2] for u, v, _ in start[0]["joints"]])]
    put(2, start)
    put(4, end)
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    page.fill("#jump", "4")
    page.keyboard.press("Enter")
    page.wait_for_selector("body[data-frame='3']")
    track = start[0]["track_id"]
    p = page.evaluate(f"state.frame.people.findIndex((q) => q.track_id === {track})")
    x, y = joint_on_screen(page, p, 7)
    page.mouse.click(x, y)
    page.keyboard.press("i")

    def midpoint(joint):
        (u0, v0, _), (u1, v1, _) = start[0]["joints"][joint], end[0]["joints"][joint]
        return (u0 + u1) / 2, (v0 + v1) / 2

    middle = midpoint(7)

    def at_middle(joints):
        return abs(joints[0] - middle[0]) < 0.05 and abs(joints[1] - middle[1]) < 0.05

    wait_saved(page, path, 3, lambda image, people: at_middle(people[p][7]))
    first = midpoint(0)
    root = labels_of(path, 3)[1][p][0]
    assert abs(root[0] - first[0]) > 1  # only the selected joint moved
    page.keyboard.press("Shift+I")
    wait_saved(
        page,
        path,
        3,
        lambda image, people: (
            abs(people[p][0][0] - first[0]) < 0.05 and abs(people[p][0][1] - first[1]) < 0.05
        ),
    )
    page.close()


def test_the_page_benchmark_times_every_step_and_jump():
    from depth_pose_ros.cli.benchmarks import annotate_page

    # its own thread: this module's browser holds Playwright's loop in the main one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        figures = pool.submit(annotate_page, steps=4, dwell_ms=0, seconds=0.5).result()
    assert figures["frames"] == 15 and figures["browser"].startswith("Chromium")
    for kind in ("next_frame_ms", "jump_ms"):
        assert 0 < figures[kind]["p50"] <= figures[kind]["max"]

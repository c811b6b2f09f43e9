"""End to end: the real app in headless Chromium, digits drawn with the mouse; double clicks, closed
tabs and six sessions at once, and nothing crashes or is lost."""

import io
import statistics
import threading
import time

import numpy as np
import pytest
from PIL import Image

from benchmarks.browser import (
    CHROMIUM,
    app_ready,
    app_server,
    draw_and_read,
    launch,
    open_app,
    playwright_in_thread,
    prediction,
    reset_canvas,
    set_epochs,
)
from benchmarks.synthetic import random_drawing
from mnist_core import TrainConfig, load_or_train
from mnist_core.cache import cache_key

pytestmark = pytest.mark.browser
from playwright.sync_api import sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory, data_cache):
    import os
    assert os.path.exists(CHROMIUM), f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    db, cache = tmp_path_factory.mktemp("db") / "drawings.sqlite", data_cache(tmp_path_factory.mktemp("cache"))
    with app_server(cache_dir=cache, log=tmp_path_factory.mktemp("log") / "app.log", db=db,
                    env={"MNIST_DRAW_BROKER": ""}) as s:  # this machine's queue, with the server's own workers
        yield (*s, db, cache)  # url, seconds to start, process, drawings database, cache folder


@pytest.fixture(scope="module")
def browser(server):
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    open_app(page, server[0])
    yield page
    page.close()


def choose(page, label, option):
    """Pick an option of a Streamlit selectbox by typing it, as a keyboard user does."""
    box = page.get_by_label(label, exact=True)
    box.click()
    box.fill(option)
    page.keyboard.press("Enter")


def no_exception(page):
    return page.locator('[data-testid="stException"]').count() == 0


def test_mouse_drawn_digits_are_read(page):
    """A random drawing of every digit, drawn with the mouse on the page's canvas (make bench draws
    twenty this way and reports how many were read right)."""
    rng = np.random.default_rng(7)
    results = []
    for digit in range(10):
        strokes, _ = random_drawing(digit, rng)  # the page's brush is its default, 20 px
        shown, ms = draw_and_read(page, strokes)
        results.append((digit, shown, ms))
        reset_canvas(page)
    correct = sum(str(d) == s for d, s, _ in results)
    print(f"\nread {correct}/10 correctly; mouse-up to prediction: median "
          f"{statistics.median(ms for *_, ms in results):.0f} ms; wrong: "
          f"{[(d, s) for d, s, _ in results if str(d) != s]}")
    assert correct >= 9, results
    assert no_exception(page)


TABS = [("1 · The data", "Sample training digits"), ("2 · The network", "Compiling: how it learns"),
        ("3 · Training and testing", "Test accuracy"), ("4 · Where it fails", "Accuracy per digit")]


def test_each_tab_shows_its_content_when_opened(page):
    assert page.get_by_role("button", name="Deploy").count() == 0  # the class sees no developer's toolbar
    for tab, shows in TABS:
        assert page.get_by_text(shows).count() == 0  # only the open tab runs and is sent
        page.get_by_role("tab", name=tab).click()
        page.get_by_text(shows).first.wait_for(timeout=60000)
        page.get_by_role("tab", name="✏️ Draw a digit").click()  # and back: the canvas still reads
        page.locator("canvas.upper-canvas").wait_for(state="visible", timeout=30000)
        assert no_exception(page), tab


def test_a_drawing_survives_a_look_at_another_tab(page):
    strokes, _ = random_drawing(3, np.random.default_rng(4))
    shown, _ = draw_and_read(page, strokes)
    page.get_by_role("tab", name="1 · The data").click()
    page.get_by_text("Sample training digits").wait_for(timeout=60000)
    page.get_by_role("tab", name="✏️ Draw a digit").click()
    time.sleep(1)
    assert prediction(page) == shown
    picture = Image.open(io.BytesIO(page.locator("canvas.upper-canvas").screenshot())).convert("L")
    ink = int((np.asarray(picture) < 128).sum())  # dark pixels, as the user sees the canvas
    assert ink > 500  # the strokes are still on the canvas


def test_where_it_fails_shows_the_confusion_matrix_and_the_mistakes(page):
    page.get_by_role("tab", name="4 · Where it fails").click()
    page.get_by_text("test digits misread").wait_for(timeout=60000)
    page.get_by_text("Confusion matrix").wait_for()
    page.get_by_text(" read as ").nth(9).wait_for()  # the gallery of misread digits
    choose(page, "Filter: true digit", "4")
    page.wait_for_timeout(1500)
    captions = page.get_by_text(" read as ").all_inner_texts()
    assert captions and all(c.startswith("4 read as") for c in captions)
    assert no_exception(page)


def test_save_a_corrected_drawing_then_export(page, server):
    from mnist_core.user_drawings import Drawings
    store = Drawings(server[3])
    before = store.count()
    strokes, _ = random_drawing(7, np.random.default_rng(3))
    shown, _ = draw_and_read(page, strokes)
    choose(page, "Correct label", "2")  # say it is a 2
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Save drawing").click()
    page.get_by_text("Read correctly").wait_for(timeout=30000)
    page.wait_for_timeout(1000)
    assert store.count() == before + 1
    _, x, y = store.arrays()
    assert y[-1] == 2 and x[-1].max() > 200  # the 28x28 image the network saw, as uint8
    assert f"/ {before + 1}" in page.locator('[data-testid="stMetric"]', has_text="Read correctly").inner_text()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export (.npz)").click()
    with np.load(download.value.path()) as z:
        assert np.array_equal(z["x"], x) and np.array_equal(z["y"], y)
    assert no_exception(page)


def saved_count(page) -> int:
    """The sidebar's "Mix in my drawings (N saved)"."""
    text = page.get_by_text("Mix in my drawings (").inner_text()
    return int(text.split("(")[1].split()[0])


def test_two_browsers_each_see_only_their_own_drawings(browser, server):
    """Two browsers with their own cookies on one server, as two students in a class. Both connect from
    the server's own machine (as every visitor does behind a proxy or tunnel there): neither sees the
    drawings saved before owners existed, which are the teacher's alone."""
    from mnist_core.user_drawings import UNOWNED, Drawings
    Drawings(server[3], owner=UNOWNED).save(np.full((28, 28), 200, np.uint8), 1)
    ann, bob = (browser.new_context(viewport={"width": 1400, "height": 900}) for _ in range(2))
    a, b = ann.new_page(), bob.new_page()
    for p in (a, b):
        open_app(p, server[0])
    ids = [next(c["value"] for c in ctx.cookies() if c["name"] == "mnist_draw_id") for ctx in (ann, bob)]
    assert ids[0] != ids[1]
    assert saved_count(a) == saved_count(b) == 0  # nothing of anyone else's, unowned drawings included
    draw_and_read(a, random_drawing(4, np.random.default_rng(5))[0])
    a.get_by_role("button", name="Save drawing").click()
    a.get_by_text("Mix in my drawings (1 saved)").wait_for(timeout=30000)
    assert Drawings(server[3], owner=ids[0]).count() == 1 and Drawings(server[3], owner=ids[1]).count() == 0
    b.reload()
    open_app(b, server[0])
    assert saved_count(b) == 0  # not counted for bob
    assert b.get_by_role("button", name="Delete all").count() == 0  # nothing of ann's (or anyone's) to delete
    a.reload()  # ann's drawing survives a reload: the cookie brings her identity back
    open_app(a, server[0])
    assert saved_count(a) == 1
    assert Drawings(server[3], owner=ids[0]).count() == 1 and Drawings(server[3], owner=UNOWNED).count() == 1
    assert no_exception(a) and no_exception(b)
    ann.close()
    bob.close()


def test_look_inside_after_drawing(page):
    shown, _ = draw_and_read(page, random_drawing(5, np.random.default_rng(8))[0])
    page.get_by_role("tab", name="5 · Look inside").click()
    page.get_by_text(f"Your drawing reads as a {shown}").wait_for(timeout=30000)
    for caption in ("The 512 hidden units", f"pushed towards the {shown} (red)", "What the hidden layer reads"):
        page.get_by_text(caption).first.wait_for(timeout=30000)
    assert page.get_by_text("%", exact=False).filter(has_text="unit ").count() >= 1  # top units, with shares
    page.get_by_text("unit 23", exact=True).wait_for()  # the gallery
    assert no_exception(page)


def test_a_number_drawn_digit_by_digit_reads_as_the_number(page):
    from benchmarks.synthetic import TEMPLATES
    from benchmarks.browser import draw
    strokes = [s * 150 + np.array([20 + 135 * k, 60]) for k, d in enumerate((2, 0, 2, 6)) for s in TEMPLATES[d][0]]
    draw(page, [s * [0.8, 1] for s in strokes])  # about 100 px wide, 150 px high, gaps of about 10 px
    page.wait_for_function("() => { for (const m of document.querySelectorAll('[data-testid=\"stMetric\"]'))"
                           " if (m.innerText.startsWith('Prediction'))"
                           " return m.querySelector('[data-testid=\"stMetricValue\"]').innerText.trim() === '2026';"
                           " return false; }", timeout=30000)
    assert prediction(page) == "2026" and no_exception(page)


@pytest.mark.slow
def test_double_click_two_tabs_and_a_closed_tab_train_once(browser, server):
    url, _, proc, _, cache = server
    a, c, drawer = (browser.new_page(viewport={"width": 1400, "height": 900}) for _ in range(3))
    for page in (a, c, drawer):
        open_app(page, url)
    set_epochs(a, 2)
    set_epochs(c, 2)
    train_a = a.get_by_role("button", name="Train", exact=True)
    train_a.click()
    train_a.click()  # a double click
    c.get_by_role("button", name="Train", exact=True).click()  # the same settings in another tab
    a.get_by_text("Training: epoch").first.wait_for(timeout=60000)
    a.close()  # closed mid-training
    rng = np.random.default_rng(5)
    read = []
    for i in range(4):  # another tab keeps classifying meanwhile, with the shipped model
        strokes, _ = random_drawing(i % 10, rng)
        read.append(draw_and_read(drawer, strokes, timeout_ms=30000)[0])
        reset_canvas(drawer, timeout_ms=30000)
    assert sum(shown == str(i % 10) for i, shown in enumerate(read)) >= 3, read
    c.get_by_text("Using your model").wait_for(timeout=300000)
    assert no_exception(c) and no_exception(drawer)
    c.close()
    drawer.close()
    models = cache / "models"
    key = cache_key(TrainConfig(epochs=2))
    assert sorted(f.name for f in models.iterdir() if not f.name.endswith(".lock")) == \
        [f"{key}.json", f"{key}.keras", f"{key}.npz"]
    assert load_or_train(TrainConfig(epochs=2), cache_dir=models).source == "cache"  # sound
    assert proc.poll() is None


DRAWINGS_EACH = 2  # six sessions drawing at once while one retrains: the load, not the count, is the test


@pytest.mark.slow
def test_six_sessions_draw_while_one_retrains(server):
    """Six browsers draw at once while one of them presses Train; then that one draws with its new model."""
    url, _, proc, *_ = server
    results, errors = [], []
    ready = threading.Barrier(6)

    def session(k):
        try:
            with playwright_in_thread() as p:
                b = launch(p)
                page = b.new_page(viewport={"width": 1400, "height": 900})
                open_app(page, url, timeout_ms=120000)
                ready.wait(timeout=180)
                if k == 0:
                    set_epochs(page, 1)  # not the double-click test's 2: this one must really retrain
                    page.get_by_role("button", name="Train", exact=True).click()
                rng = np.random.default_rng(50 + k)
                for i in range(DRAWINGS_EACH):
                    strokes, _ = random_drawing((i + k) % 10, rng)
                    shown, ms = draw_and_read(page, strokes, timeout_ms=60000)
                    results.append((k, shown, ms))
                    reset_canvas(page, timeout_ms=60000)
                if k == 0:  # the training shows as done, and its new model reads the next drawing
                    page.get_by_text("Using your model").wait_for(timeout=300000)
                    assert page.get_by_text("1 epoch").count() >= 1
                    strokes, _ = random_drawing(4, rng)
                    shown, _ = draw_and_read(page, strokes, timeout_ms=60000)
                    assert shown in list("0123456789")  # a digit, never blank
                if not no_exception(page):
                    errors.append(f"session {k} shows an exception")
                b.close()
        except Exception as e:
            errors.append(f"session {k}: {type(e).__name__}: {e}"[:300])
            ready.abort()

    threads = [threading.Thread(target=session, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    assert errors == []
    assert len(results) == 6 * DRAWINGS_EACH and all(s in list("0123456789") for _, s, _ in results)  # a digit, never blank
    lat = sorted(ms for *_, ms in results)
    p50 = lat[len(lat) // 2]
    print(f"\n6 sessions, one retraining: mouse-up to prediction p50 {p50:.0f} ms, max {lat[-1]:.0f} ms")
    assert proc.poll() is None  # the server stays up


def test_learn_my_handwriting_from_ten_saved_drawings(browser, server):
    """A person draws, corrects and saves one of each digit, presses "Learn my handwriting", and their
    next drawing is read by their adapted model; another browser's page still uses the shipped one."""
    from mnist_core.user_drawings import Drawings
    me, other = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    page, theirs = me.new_page(), other.new_page()
    for p in (page, theirs):
        open_app(p, server[0])
    rng = np.random.default_rng(11)
    for digit in range(10):
        draw_and_read(page, random_drawing(digit, rng)[0])
        choose(page, "Correct label", str(digit))  # correct the label where the network got it wrong
        page.wait_for_timeout(800)
        page.get_by_role("button", name="Save drawing").click()
        page.get_by_text(f"Mix in my drawings ({digit + 1} saved)").wait_for(timeout=30000)
        reset_canvas(page)
    mine = next(c["value"] for c in me.cookies() if c["name"] == "mnist_draw_id")
    assert sorted(Drawings(server[3], owner=mine).arrays()[2].tolist()) == list(range(10))
    page.get_by_role("button", name="Learn my handwriting").click()
    page.get_by_text("Using your model: the shipped model, adapted to your handwriting").wait_for(timeout=60000)
    page.get_by_text("This model learned your handwriting from your first 10 drawings").wait_for(timeout=30000)
    shown, _ = draw_and_read(page, random_drawing(3, rng)[0])
    assert shown in {str(d) for d in range(10)}
    assert page.get_by_text("adapted to your handwriting").count() >= 1  # the next drawing was read by it
    page.reload()  # a reload keeps the model in use
    app_ready(page)
    page.get_by_text("Using your model: the shipped model, adapted to your handwriting").wait_for(timeout=30000)
    theirs.reload()
    open_app(theirs, server[0])
    assert theirs.get_by_text("Using the shipped model").count() == 1
    assert no_exception(page) and no_exception(theirs)
    me.close()
    other.close()


def test_a_browser_from_elsewhere_sees_only_its_own_drawings_and_the_teacher_sees_the_class(browser, tmp_path,
                                                                                          data_cache):
    """A server at 127.0.0.2, which Streamlit does not take for localhost: the browser comes from
    another address, as a student's in a class does. It sees none of the drawings of before owners nor
    another student's, with no token or a wrong one; with the server's token it sees the whole class."""
    from mnist_core.user_drawings import UNOWNED, Drawings
    db = tmp_path / "drawings.sqlite"
    for owner in (UNOWNED, "another student"):
        Drawings(db, owner=owner).save(np.full((28, 28), 200, np.uint8), 1)
    with app_server(cache_dir=data_cache(tmp_path / "cache"), db=db, address="127.0.0.2",
                    env={"MNIST_DRAW_TEACHER_TOKEN": "s3cret"}, log=tmp_path / "app.log") as (url, *_):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        open_app(page, url)
        assert saved_count(page) == 0 and page.get_by_role("button", name="Delete all").count() == 0
        page.get_by_role("tab", name="Teacher").click()
        token = page.get_by_label("Teacher token", exact=True).and_(page.locator("input"))
        token.fill("wrong")
        token.press("Enter")
        page.get_by_text("That is not this server's teacher token").wait_for(timeout=30000)
        assert page.get_by_text("drawings by").count() == 0
        assert page.get_by_text("Export the class's drawings (.npz)").count() == 0
        token.fill("s3cret")
        token.press("Enter")
        page.get_by_text("2 drawings by 2 people").wait_for(state="attached", timeout=30000)  # the teacher sees the class
        page.get_by_text("Export the class's drawings (.npz)").first.wait_for(state="attached", timeout=30000)
        assert saved_count(page) == 1  # the drawing of before owners is the teacher's; the student's is not
        from mnist_core.views import anonymous
        choose(page, "Whose", anonymous("another student"))  # the gallery of one student's drawings
        page.get_by_text("#2: 1").first.wait_for(timeout=30000)
        page.get_by_role("button", name="Remove this drawing").click()
        page.get_by_text("1 drawing by 1 person").wait_for(state="attached", timeout=30000)
        assert Drawings(db, owner="another student").count() == 0  # the owner's count dropped by one
        page.screenshot(path=str(tmp_path / "teacher.png"))
        assert no_exception(page)
        ctx.close()
        stranger = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()  # no token: none of it
        open_app(stranger, url)
        stranger.get_by_role("tab", name="Teacher").click()
        stranger.get_by_text("Type the server's token").wait_for(timeout=30000)
        assert stranger.get_by_text("drawings by").count() == 0 and stranger.get_by_text("Export the").count() == 0
        stranger.context.close()


def test_two_tabs_on_a_first_visit_are_one_person(browser, server):
    """Both tabs load before either has the cookie: the second takes the identity the first wrote, so a
    drawing saved in either is the browser's, and both are there after a reload."""
    from mnist_core.user_drawings import Drawings
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    first, second = ctx.new_page(), ctx.new_page()
    first.goto(server[0], wait_until="commit")
    second.goto(server[0], wait_until="commit")  # before the first tab's page has written its cookie
    for p in (first, second):
        app_ready(p)
    assert first.evaluate("document.cookie") == second.evaluate("document.cookie")
    for page, digit in ((first, 1), (second, 7)):
        page.bring_to_front()  # a tab in the background gets its timers slowed, as a person's would
        draw_and_read(page, random_drawing(digit, np.random.default_rng(digit))[0])
        page.get_by_role("button", name="Save drawing").click()
        page.get_by_text("Read correctly").wait_for(timeout=30000)
    page = ctx.new_page()
    open_app(page, server[0])
    mine = next(c["value"] for c in ctx.cookies() if c["name"] == "mnist_draw_id")
    assert Drawings(server[3], owner=mine).count() == 2  # both tabs' drawings are this browser's
    assert saved_count(page) == 2
    ctx.close()


def _worker_pids(proc) -> list[int]:
    from benchmarks.browser import children
    return [c for c in children(proc.pid) if b"mnist_core\0worker" in open(f"/proc/{c}/cmdline", "rb").read()]


@pytest.mark.slow
def test_the_server_runs_without_tensorflow_and_a_worker_killed_mid_training_is_reported(browser, tmp_path,
                                                                                      data_cache):
    """A fresh server's process, checked from outside while it serves: no TensorFlow (nor Keras, which imports
    it) mapped in, RSS within 300 MiB, after a drawing and after a training. Its worker, killed with SIGKILL
    mid-training: the page says so in plain words, reads the next drawing, and a new worker takes over."""
    with app_server(cache_dir=data_cache(tmp_path / "cache"), db=tmp_path / "drawings.sqlite",
                    env={"MNIST_DRAW_BROKER": ""}, log=tmp_path / "app.log") as (url, _, proc):
        _server_and_its_worker(browser, url, proc)


def _server_and_its_worker(browser, url, proc):
    import os
    import signal
    from benchmarks.browser import process_report
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    open_app(page, url)
    rng = np.random.default_rng(11)
    assert draw_and_read(page, random_drawing(4, rng)[0], timeout_ms=30000)[0] == "4"
    report = process_report(proc.pid)
    assert not report["tensorflow"] and report["rss_mib"] <= 300, report
    set_epochs(page, 60)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training: epoch 1/60").first.wait_for(timeout=120000)
    [worker] = _worker_pids(proc)
    assert process_report(worker)["tensorflow"]  # the training is there
    os.kill(worker, signal.SIGKILL)
    page.get_by_text("The worker training it stopped").first.wait_for(timeout=60000)
    assert "Training failed" in page.inner_text("body") and no_exception(page)
    reset_canvas(page, timeout_ms=30000)
    assert draw_and_read(page, random_drawing(7, rng)[0], timeout_ms=30000)[0] == "7"
    deadline = time.monotonic() + 30
    while not (new := _worker_pids(proc)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert new and new != [worker]  # the server started a new worker
    report = process_report(proc.pid)
    assert not report["tensorflow"] and report["rss_mib"] <= 300, report
    page.close()


@pytest.mark.slow
def test_two_trainings_side_by_side_one_click_back_and_a_reload_keeps_them(browser, server):
    """Train 1 and 3 epochs from the sidebar; the Training tab lists both; both chosen, one chart names both;
    one click makes the first the model in use; a reload keeps the list and the model; another browser's
    list does not show them, and the class table counts them."""
    url = server[0]
    me, other = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2))
    page = me.new_page()
    open_app(page, url)
    for epochs in (1, 3):
        set_epochs(page, epochs)
        page.get_by_role("button", name="Train", exact=True).click()
        page.get_by_text(f"Using your model: {epochs} epoch").first.wait_for(timeout=180000)
    page.get_by_role("tab", name="3 · Training and testing").click()
    page.get_by_text("Your trainings").wait_for(timeout=30000)
    grid = page.locator('[data-testid="stDataFrame"]').filter(has_text="in use").first
    for name in ("1 epoch", "3 epochs"):
        choose(page, "Compare (up to four)", name)
    page.get_by_text("What changed:").wait_for(timeout=30000)
    assert "3 epochs instead of 1 epoch" in page.inner_text("body")
    chart = page.locator('[data-testid="stVegaLiteChart"]').last
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(server[4] / "trainings.png"), full_page=True)
    legend = chart.inner_text() if chart.count() else ""
    svg = chart.locator("svg").first.inner_html() if chart.locator("svg").count() else ""
    assert "1 epoch" in legend + svg and "3 epochs" in legend + svg
    assert grid.count() == 1
    choose(page, "A training", "1 epoch")
    page.wait_for_timeout(800)
    page.get_by_role("button", name="Use this model").click()
    page.get_by_text("Using your model: 1 epoch").first.wait_for(timeout=30000)
    page.reload()
    app_ready(page)
    page.get_by_text("Using your model: 1 epoch").first.wait_for(timeout=30000)
    page.get_by_role("tab", name="3 · Training and testing").click()
    page.get_by_text("Compare (up to four)").wait_for(timeout=30000)
    assert page.get_by_text("3 epochs instead").count() == 0  # nothing chosen after a reload, but the list is there
    body = page.inner_text("body")
    assert "Your trainings" in body and no_exception(page)
    theirs = other.new_page()
    open_app(theirs, url)
    theirs.get_by_role("tab", name="3 · Training and testing").click()
    theirs.get_by_text("Each model you train").wait_for(timeout=30000)  # their own list is empty
    theirs.get_by_text("What the class found").click()
    theirs.locator("td[role=gridcell]", has_text="3 epochs").first.wait_for(state="attached", timeout=30000)
    assert no_exception(theirs)
    me.close()
    other.close()

import collections
import os
import tempfile
import threading

# Tests never touch the user's cache. Each process running tests (each worker of make test) has its
# own model cache and drawings database; the prepared data (decoded MNIST, the test writers'
# drawings: the cache's "mnist" folder) is one folder for the whole run, made once (prepared_data).
# Set before mnist_core is imported; the workers inherit the run's folder from the process that starts them.
_MADE_HERE = "MNIST_DRAW_TEST_RUN" not in os.environ  # this process made the run's folder: it removes it at the end
if _MADE_HERE:
    os.environ["MNIST_DRAW_TEST_RUN"] = tempfile.mkdtemp(prefix="mnist-draw-test-")
RUN_DIR = os.environ["MNIST_DRAW_TEST_RUN"]
_own = tempfile.mkdtemp(prefix=os.environ.get("PYTEST_XDIST_WORKER", "main") + "-", dir=RUN_DIR)
os.makedirs(os.path.join(RUN_DIR, "mnist"), exist_ok=True)
os.makedirs(os.path.join(_own, "cache"))
os.symlink(os.path.join(RUN_DIR, "mnist"), os.path.join(_own, "cache", "mnist"))
os.environ["MNIST_DRAW_CACHE_DIR"] = os.path.join(_own, "cache")
os.environ["MNIST_DRAW_DB"] = os.path.join(_own, "drawings.sqlite")
# A queue of this process's own that no page starts workers for (AppTest's pages would each start one):
# the tests that train start the workers they need (the workers fixture, worker processes, app servers).
os.environ["MNIST_DRAW_BROKER"] = "sqlite:///" + os.path.join(_own, "queue.sqlite")

import pytest  # noqa: E402

# mnist_core (and so TensorFlow) is imported in the fixtures, by the workers that run tests, never by
# the process that only hands the tests out to them.


@pytest.fixture(scope="session", autouse=True)
def prepared_data():
    """The prepared data, made by the first worker while the others wait, rather than by all at once."""
    import fcntl

    from mnist_core import load_mnist
    from mnist_core.handwriting import reading_set
    with open(os.path.join(RUN_DIR, "prepare.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        load_mnist()
        reading_set("test")


@pytest.fixture(scope="session")
def mnist():
    from mnist_core import load_mnist
    return load_mnist()


@pytest.fixture(scope="session")
def one_epoch(mnist):
    """A real one-epoch training run of the reference network, shared by the tests that need a model."""
    from mnist_core import TrainConfig
    from mnist_core.train import train
    calls = []
    result = train(TrainConfig(epochs=1), on_epoch=lambda e, logs: calls.append((e, logs)), data=mnist)
    return result, calls


@pytest.fixture
def small_training(monkeypatch, mnist):
    """For tests of the cache's logic, where the network's quality proves nothing: every training
    through load_or_train is real Keras, on 2,000 MNIST images (tested on 1,000)."""
    from mnist_core import cache
    from mnist_core.train import train as real_train
    (x, y), (x_test, y_test) = mnist
    small = ((x[:2000], y[:2000]), (x_test[:1000], y_test[:1000]))
    monkeypatch.setattr(cache, "train", lambda config, on_epoch=None, drawings=None: real_train(
        config, on_epoch, data=small, drawings=drawings))


@pytest.fixture
def queue(monkeypatch, tmp_path):
    """A queue file of this test's own, no workers on it yet."""
    from mnist_core import broker
    monkeypatch.setenv(broker.BROKER_ENV, f"sqlite:///{tmp_path}/queue.sqlite")
    return tmp_path


@pytest.fixture
def workers(queue, small_training):
    """workers(n): n workers in threads of this process, stopped after the test."""
    stops = []

    def start(n):
        from mnist_core.worker import serve
        for _ in range(n):
            stops.append(threading.Event())
            threading.Thread(target=serve, kwargs={"stop": stops[-1]}, daemon=True).start()
    yield start
    for stop in stops:
        stop.set()


@pytest.fixture(scope="session")
def data_cache():
    """The run's prepared data (decoded MNIST, the test writers' page drawings), made once: copied into
    an app server's fresh cache so that each server does not make it again."""
    import shutil
    from pathlib import Path

    folder = Path(RUN_DIR) / "mnist"

    def into(cache_dir):
        shutil.copytree(folder, Path(cache_dir) / "mnist")
        return cache_dir
    return into


@pytest.fixture(scope="module")
def server(request, tmp_path_factory, data_cache):
    """A real app server for a browser test file: (url, seconds to start, process, drawings database, cache
    folder, log file), on this machine's queue with the server's own workers; for a file that sets TRAINS = False, on
    this process's queue, which no worker serves (a worker's start and warm-up are ~8 s of CPU for nothing)."""
    from benchmarks.browser import CHROMIUM, app_server
    assert os.path.exists(CHROMIUM), f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    db, cache = tmp_path_factory.mktemp("db") / "drawings.sqlite", data_cache(tmp_path_factory.mktemp("cache"))
    own_workers = {"MNIST_DRAW_BROKER": ""} if getattr(request.module, "TRAINS", True) else {}  # else this process's queue
    log = tmp_path_factory.mktemp("log") / "app.log"
    with app_server(cache_dir=cache, log=log, db=db, env=own_workers) as s:
        yield (*s, db, cache, log)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    from benchmarks.browser import launch
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def visits(browser):
    """One browser context for the people of a file's tests, one after another: its cache keeps Streamlit's
    scripts (a page opened in a context of its own took ~1.5 s more of Chromium's CPU, of ~4)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context
    context.close()


@pytest.fixture
def newcomer(visits):
    """The file's browser context as a new person's: no cookie, so no identity yet. Its pages close after
    the test."""
    visits.clear_cookies()
    yield visits
    for page in visits.pages:
        page.close()


@pytest.fixture
def page(newcomer, server):
    """A new person's page of the app, in the file's browser context (newcomer)."""
    from benchmarks.browser import open_app
    page = newcomer.new_page()
    open_app(page, server[0])
    return page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A browser test that fails says what its pages showed and what the app server logged: a failure seen
    once, in a fresh clone's first run, could not be explained afterwards (the run's folders were gone)."""
    report = yield
    if report.failed and call.when == "call":
        context, server = item.funcargs.get("visits"), item.funcargs.get("server")
        for i, page in enumerate(context.pages if context else []):
            try:
                text = page.inner_text("body", timeout=2000)
            except Exception as e:  # a page that no longer answers says so
                text = f"(could not be read: {type(e).__name__}: {e})"
            report.sections.append((f"page {i} when the test failed ({page.url})", text[-4000:]))
        if server:
            report.sections.append(("app server log", server[5].read_text()[-4000:]))
    return report


def pytest_collection_modifyitems(items):
    """make test runs two workers (pyproject's addopts), each taking a file at a time. The two browser files
    start first, one on each: they mostly wait on Chromium and the app server, so the other files' trainings
    fit beside them. Then the files with the most slow tests: a run that ended on test_jobs.py (70 s) left the
    other worker idle for its last 12 s."""
    slow = collections.Counter(item.path for item in items if item.get_closest_marker("slow"))
    items.sort(key=lambda item: (item.get_closest_marker("browser") is None, -slow[item.path]))  # stable


def pytest_unconfigure(config):
    """The run's folder (~210 MiB: prepared data, every worker's caches and drawings) goes with the run."""
    if _MADE_HERE:
        import shutil
        shutil.rmtree(RUN_DIR, ignore_errors=True)

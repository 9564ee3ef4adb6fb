import threading

from generations.fastrouter.factory import fastrouter_client, fastrouter_clients_reset


def _client_of_another_thread():
    found = []
    thread = threading.Thread(target=lambda: found.append(fastrouter_client()))
    thread.start()
    thread.join()
    return found[0]


def test_a_thread_gets_the_same_client_on_every_call():
    assert fastrouter_client() is fastrouter_client()


def test_each_thread_gets_its_own_client():
    assert _client_of_another_thread() is not fastrouter_client()


def test_a_settings_change_gives_a_client_for_the_new_settings(settings):
    before = fastrouter_client()
    settings.FASTROUTER_BASE_URL = "https://elsewhere.test"
    after = fastrouter_client()
    assert after is not before
    assert after.base_url == "https://elsewhere.test"


def test_the_interactive_client_has_a_short_deadline_and_never_sleeps_on_retry_after(settings):
    settings.FASTROUTER_INTERACTIVE_DEADLINE = 7.0
    client = fastrouter_client()
    assert (client.deadline, client.max_retry_after) == (7.0, 0)


def test_a_reset_closes_this_threads_client_and_gives_a_new_one(monkeypatch):
    before = fastrouter_client()
    closed = []
    monkeypatch.setattr(before, "close", lambda: closed.append(True))
    fastrouter_clients_reset()
    assert closed == [True]
    assert fastrouter_client() is not before

// TaskOverflow's web UI: plain ES modules over the /api/v1 contract, no build step.
const API = "/api/v1";
const $ = (selector, root = document) => root.querySelector(selector);

class ApiError extends Error {}

// With AUTH_MODE=token the API answers 401 until the page sends a bearer token; the token the
// person pastes in is kept in this browser's localStorage and nowhere else.
const TOKEN_KEY = "taskoverflow-token";
const token = () => localStorage.getItem(TOKEN_KEY);

function authHeaders() {
  return token() ? { Authorization: `Bearer ${token()}` } : {};
}

function askForToken() {
  localStorage.removeItem(TOKEN_KEY);
  $("#token-form").hidden = false;
  $("#token-input").focus();
}

async function api(path, { method = "GET", body } = {}) {
  const headers = authHeaders();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    askForToken();
    throw new ApiError("Sign in with your API token to continue.");
  }
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try { message = (await response.json()).error || message; } catch { /* not JSON */ }
    throw new ApiError(message);
  }
  return response.json();
}

function showError(error) {
  const box = $("#error");
  box.textContent = error instanceof ApiError ? error.message : `Something went wrong: ${error}`;
  box.hidden = false;
}

function say(message) {
  $("#error").hidden = true;
  $("#status").textContent = message;
}

// The API speaks UTC as YYYY-MM-DDTHH:MM:SS; the page shows and takes local time.
const fromApi = (stamp) => (stamp ? new Date(stamp + "Z") : null);
const toApi = (local) => (local ? new Date(local).toISOString() : null);
function toInput(stamp) {
  const date = fromApi(stamp);
  if (!date) return "";
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 16);
}

let filters = {};

async function refresh() {
  const query = new URLSearchParams(filters).toString();
  const todos = await api("/todos" + (query ? `?${query}` : ""));
  const list = $("#todo-list");
  list.replaceChildren(...todos.map(renderTodo));
  $("#empty").hidden = todos.length > 0;
}

function renderTodo(todo) {
  const item = $("#todo-template").content.firstElementChild.cloneNode(true);
  const id = `todo-${todo.id}`;
  item.dataset.id = todo.id;
  item.classList.toggle("done", todo.completed);
  const toggle = $(".toggle", item);
  toggle.id = id;
  toggle.checked = todo.completed;
  $(".title", item).htmlFor = id;
  $(".title", item).textContent = todo.title;
  const deadline = fromApi(todo.deadline_at);
  $(".deadline", item).textContent = deadline ? `due ${deadline.toLocaleString()}` : "";
  $(".description", item).textContent = todo.description || "";
  $(".edit", item).setAttribute("aria-label", `Edit ${todo.title}`);
  $(".delete", item).setAttribute("aria-label", `Delete ${todo.title}`);

  toggle.addEventListener("change", () =>
    act(() => api(`/todos/${todo.id}`, { method: "PUT", body: { completed: toggle.checked } }),
        toggle.checked ? `Completed “${todo.title}”` : `Reopened “${todo.title}”`));
  $(".delete", item).addEventListener("click", () =>
    act(() => api(`/todos/${todo.id}`, { method: "DELETE" }), `Deleted “${todo.title}”`));

  const form = $(".edit-form", item);
  $(".edit", item).addEventListener("click", () => {
    form.hidden = false;
    form.title.value = todo.title;
    form.description.value = todo.description || "";
    form.deadline.value = toInput(todo.deadline_at);
    form.title.focus();
  });
  $(".cancel", item).addEventListener("click", () => { form.hidden = true; });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const changes = {
      title: form.title.value,
      description: form.description.value || null,
      deadline_at: toApi(form.deadline.value),
    };
    act(() => api(`/todos/${todo.id}`, { method: "PUT", body: changes }), `Saved “${changes.title}”`);
  });
  return item;
}

async function act(request, message) {
  try {
    await request();
    say(message);
    await refresh();
  } catch (error) {
    showError(error);
  }
}

$("#create-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  const body = { title: form.title.value };
  if (form.description.value) body.description = form.description.value;
  if (form.deadline.value) body.deadline_at = toApi(form.deadline.value);
  act(async () => { await api("/todos", { method: "POST", body }); form.reset(); form.title.focus(); },
      `Added “${body.title}”`);
});

$("#filter-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.target;
  filters = {};
  if (form.completed.value) filters.completed = form.completed.value;
  if (form.window.value !== "") filters.window = form.window.value;
  refresh().catch(showError);
});

// Export: queue the job, then wait on its status (a long-poll the server answers as soon as the
// job finishes) and show its timeline.
$("#export-button").addEventListener("click", async () => {
  const button = $("#export-button");
  const progress = $("#export-progress");
  const download = $("#download-link");
  button.disabled = true;
  download.hidden = true;
  progress.replaceChildren();
  try {
    const job = await api("/todos/ical", {
      method: "POST",
      body: { include_completed: $("#export-completed").checked },
    });
    const taskPath = new URL(job.task_url).pathname.replace(API, "");
    const deadline = Date.now() + 60000;
    let status;
    do {
      status = await api(`${taskPath}?wait=10`);
      progress.replaceChildren(...status.timeline.map((step) => {
        const li = document.createElement("li");
        li.className = step.status;
        li.textContent = `${step.status} +${step.elapsed_ms} ms`;
        return li;
      }));
      if (status.task_status === "SUCCESS" || status.task_status === "FAILURE") break;
    } while (Date.now() < deadline);
    if (status.task_status === "SUCCESS") {
      download.href = await downloadable(new URL(status.result_url).pathname);
      download.hidden = false;
      say("Your calendar is ready.");
      download.focus();
    } else if (status.task_status === "FAILURE") {
      showError(new ApiError(`The export failed: ${status.error?.message ?? "unknown error"}`));
    } else {
      showError(new ApiError("The export is taking longer than a minute; try again shortly."));
    }
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
});

// A link cannot carry a bearer token: with one, fetch the calendar and link to the bytes.
async function downloadable(path) {
  if (!token()) return path;
  const response = await fetch(path, { headers: authHeaders() });
  if (!response.ok) throw new ApiError(`The calendar could not be fetched (${response.status})`);
  return URL.createObjectURL(await response.blob());
}

$("#token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, $("#token-input").value.trim());
  $("#token-input").value = "";
  $("#token-form").hidden = true;
  say("Signed in.");
  refresh().catch(showError);
});

$("#subscribe-link").href = `webcal://${location.host}${API}/calendar.ics`;
refresh().catch(showError);

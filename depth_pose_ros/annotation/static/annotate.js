// depth-pose annotate: the page. Plain JavaScript, no build step. Every change is sent to the
// server at once (PUT /api/frames/N), which saves it atomically; undo and redo are per frame.
"use strict";

const PALETTE = ["#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6"];
// A person facing the camera, in body heights from SpineBase: where "add a person" puts joints.
const TEMPLATE = {
  SpineBase: [0, 0], SpineMid: [0, -0.15], SpineShoulder: [0, -0.3], Neck: [0, -0.35], Head: [0, -0.43],
  ShoulderLeft: [0.1, -0.28], ElbowLeft: [0.14, -0.13], WristLeft: [0.15, 0.0], HandLeft: [0.15, 0.04],
  ShoulderRight: [-0.1, -0.28], ElbowRight: [-0.14, -0.13], WristRight: [-0.15, 0.0], HandRight: [-0.15, 0.04],
  HipLeft: [0.06, 0.01], KneeLeft: [0.07, 0.25], AnkleLeft: [0.07, 0.48], FootLeft: [0.08, 0.52],
  HipRight: [-0.06, 0.01], KneeRight: [-0.07, 0.25], AnkleRight: [-0.07, 0.48], FootRight: [-0.08, 0.52],
};
const PICK_RADIUS = 9; // screen pixels

const state = {
  session: null, number: 0, frame: null, image: null,
  view: { scale: 1, x: 0, y: 0 }, selected: null, // {person, joint}
  drag: null, mouse: { u: 0, v: 0 }, history: {}, labelCache: new Map(),
  saving: Promise.resolve(), // saves run one after another; reads of labels wait for them
};
const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const context = canvas.getContext("2d");

function message(text, isError = false) {
  $("message").textContent = text;
  $("message").className = isError ? "error" : "";
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function range() {
  return `near=${encodeURIComponent($("near").value)}&far=${encodeURIComponent($("far").value)}`;
}

function imageUrl(number) {
  return `/api/frames/${number}/depth.png?${range()}`;
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error(`cannot load ${url}`));
    image.src = url;
  });
}

function readLabels(number) {
  return state.saving.then(() => api("GET", `/api/frames/${number}`));
}

function prefetch(number) {
  for (const next of [number + 1, number + 2, number - 1]) {
    if (next < 0 || next >= state.session.frames.length) continue;
    loadImage(imageUrl(next)).catch(() => {});
    if (!state.labelCache.has(next)) state.labelCache.set(next, readLabels(next));
  }
}

async function show(number) {
  const started = performance.now();
  const labels = state.labelCache.get(number) || readLabels(number);
  state.labelCache.delete(number);
  const [frame, image] = await Promise.all([labels, loadImage(imageUrl(number))]);
  const first = state.frame === null;
  state.number = number;
  state.frame = frame;
  state.image = image;
  state.selected = null;
  if (first) fit();
  draw();
  renderFrameList();
  window.frameShownMs = performance.now() - started;
  message(`frame shown in ${window.frameShownMs.toFixed(0)} ms`);
  document.body.dataset.frame = String(number);
  api("PUT", "/api/position", { position: number }).catch((error) => message(error.message, true));
  prefetch(number);
}

function fit() {
  const rect = canvas.getBoundingClientRect();
  const scale = Math.min(rect.width / state.image.width, rect.height / state.image.height);
  state.view = {
    scale, x: (rect.width - state.image.width * scale) / 2, y: (rect.height - state.image.height * scale) / 2,
  };
}

function toScreen(u, v) {
  return [state.view.x + u * state.view.scale, state.view.y + v * state.view.scale];
}

function toImage(x, y) {
  return [(x - state.view.x) / state.view.scale, (y - state.view.y) / state.view.scale];
}

function colour(trackId) {
  return PALETTE[((trackId % PALETTE.length) + PALETTE.length) % PALETTE.length];
}

function draw() {
  const rect = canvas.getBoundingClientRect();
  canvas.width = rect.width;
  canvas.height = rect.height;
  context.clearRect(0, 0, canvas.width, canvas.height);
  if (!state.image) return;
  context.imageSmoothingEnabled = false;
  context.drawImage(state.image, state.view.x, state.view.y,
    state.image.width * state.view.scale, state.image.height * state.view.scale);
  state.frame.people.forEach((person, p) => {
    context.strokeStyle = colour(person.track_id);
    context.lineWidth = 2;
    for (const [a, b] of state.session.bones) {
      const ja = person.joints[a], jb = person.joints[b];
      if (!ja[2] || !jb[2]) continue;
      context.beginPath();
      context.moveTo(...toScreen(ja[0], ja[1]));
      context.lineTo(...toScreen(jb[0], jb[1]));
      context.stroke();
    }
    person.joints.forEach((joint, j) => {
      if (!joint[2]) return;
      const [x, y] = toScreen(joint[0], joint[1]);
      const selected = state.selected && state.selected.person === p && state.selected.joint === j;
      context.beginPath();
      context.arc(x, y, selected ? 7 : 4.5, 0, 2 * Math.PI);
      context.fillStyle = colour(person.track_id);
      if (joint[2] === 2) context.fill(); // occluded joints are hollow
      context.lineWidth = selected ? 3 : 1.5;
      context.strokeStyle = selected ? "#fff" : colour(person.track_id);
      context.stroke();
    });
  });
}

function pick(x, y) {
  let best = null, distance = PICK_RADIUS;
  state.frame.people.forEach((person, p) => person.joints.forEach((joint, j) => {
    if (!joint[2]) return;
    const [sx, sy] = toScreen(joint[0], joint[1]);
    const d = Math.hypot(sx - x, sy - y);
    if (d <= distance) { distance = d; best = { person: p, joint: j }; }
  }));
  return best;
}

function historyOf(number) {
  if (!state.history[number]) state.history[number] = { undo: [], redo: [] };
  return state.history[number];
}

function snapshot() {
  return JSON.stringify({ people: state.frame.people, state: state.frame.state });
}

// Apply a change to the current frame: remember the old labels for undo, then save.
async function change(mutate, before = snapshot()) {
  mutate();
  if (state.frame.state === "untouched") state.frame.state = "edited";
  const history = historyOf(state.number);
  history.undo.push(before);
  history.redo = [];
  draw();
  await save();
}

function save() {
  const number = state.number;
  const body = JSON.parse(JSON.stringify({
    people: state.frame.people, state: state.frame.state === "reviewed" ? "reviewed" : "edited",
  }));
  state.labelCache.delete(number); // read again after this save
  state.saving = state.saving.then(async () => {
    try {
      const saved = await api("PUT", `/api/frames/${number}`, body);
      state.session.frames[number].state = saved.state;
      renderFrameList();
      message("saved");
    } catch (error) {
      message(`not saved: ${error.message}`, true);
    }
  });
  return state.saving;
}

async function restore(from, to) {
  const history = historyOf(state.number);
  if (!history[from].length) return;
  history[to].push(snapshot());
  const previous = JSON.parse(history[from].pop());
  state.frame.people = previous.people;
  state.frame.state = previous.state === "untouched" ? "edited" : previous.state;
  state.selected = null;
  draw();
  await save();
}

function renderFrameList() {
  const list = $("frames");
  const frames = state.session.frames;
  if (list.children.length !== frames.length) {
    list.innerHTML = "";
    frames.forEach((frame, number) => {
      const item = document.createElement("li");
      item.textContent = `${number + 1}: ${frame.key}`;
      item.onclick = () => go(number);
      list.appendChild(item);
    });
  }
  frames.forEach((frame, number) => {
    list.children[number].className = `${frame.state}${number === state.number ? " current" : ""}`;
  });
  const done = frames.filter((frame) => frame.state !== "untouched").length;
  $("progress-bar").style.width = `${(100 * done) / frames.length}%`;
  $("progress-text").textContent = `${done} of ${frames.length} frames labelled`;
  $("frame-title").textContent = `frame ${state.number + 1} / ${frames.length} (${frames[state.number].key}) ${frames[state.number].state}`;
  list.children[state.number].scrollIntoView({ block: "nearest" });
}

async function describeSelection() {
  if (!state.selected) { $("selection").textContent = "no joint selected"; return; }
  const person = state.frame.people[state.selected.person];
  const joint = person.joints[state.selected.joint];
  const name = state.session.joints[state.selected.joint];
  const visibility = ["not labelled", "occluded", "visible"][joint[2]];
  let text = `person ${person.track_id} ${name} (${joint[0].toFixed(1)}, ${joint[1].toFixed(1)}) ${visibility}`;
  try {
    const point = await api("GET", `/api/frames/${state.number}/point?u=${joint[0]}&v=${joint[1]}`);
    text += point.depth === null ? ", no depth here"
      : `, depth ${point.depth.toFixed(3)} m, 3D (${point.xyz.map((c) => c.toFixed(3)).join(", ")}) m`;
  } catch (error) { text += `, ${error.message}`; }
  $("selection").textContent = text;
}

function selectedPerson() {
  return state.selected ? state.frame.people[state.selected.person] : state.frame.people[0];
}

function placeJoint() {
  const person = selectedPerson();
  if (!person) { message("add a person first (N)", true); return; }
  let joint = Number($("add-joint").value);
  if (Number.isNaN(joint) || joint < 0) joint = person.joints.findIndex((j) => !j[2]);
  if (joint < 0) { message("every joint of this person is labelled", true); return; }
  const p = state.frame.people.indexOf(person);
  change(() => { person.joints[joint] = [state.mouse.u, state.mouse.v, 2]; state.selected = { person: p, joint }; });
  describeSelection();
}

function addPerson() {
  const ids = state.frame.people.map((person) => person.track_id);
  const trackId = ids.length ? Math.max(...ids) + 1 : 1;
  const height = state.image.height / 2.5;
  const joints = state.session.joints.map((name) => {
    const [dx, dy] = TEMPLATE[name] || [0, 0];
    return [state.mouse.u + dx * height, state.mouse.v + dy * height, 2];
  });
  change(() => { state.frame.people.push({ track_id: trackId, joints }); });
}

// The selected joint (wholePerson: every joint of its person) between the nearest labelled
// frames before and after that hold that person.
async function interpolateSelected(wholePerson) {
  if (!state.selected) { message("select a joint of the person first", true); return; }
  const { person: p, joint } = state.selected;
  const trackId = state.frame.people[p].track_id;
  try {
    const result = await api("GET", `/api/frames/${state.number}/interpolate?track=${trackId}`);
    change(() => {
      if (wholePerson) state.frame.people[p] = result.person;
      else state.frame.people[p].joints[joint] = result.person.joints[joint];
    });
  } catch (error) { message(error.message, true); }
}

async function copyPrevious() {
  if (state.number === 0) { message("no previous frame", true); return; }
  const previous = await readLabels(state.number - 1);
  change(() => { state.frame.people = previous.people; });
}

function setVisibility(value) {
  if (!state.selected) { message("select a joint first", true); return; }
  const { person, joint } = state.selected;
  change(() => { state.frame.people[person].joints[joint][2] = value; });
  if (value === 0) state.selected = null;
  describeSelection();
}

function go(number) {
  if (number >= 0 && number < state.session.frames.length) {
    show(number).catch((error) => message(`cannot show frame ${number + 1}: ${error.message}`, true));
  }
}

canvas.addEventListener("mousedown", (event) => {
  const hit = pick(event.offsetX, event.offsetY);
  if (hit) {
    state.selected = hit;
    state.drag = { kind: "joint", before: snapshot(), moved: false };
    describeSelection();
  } else {
    state.drag = { kind: "pan", x: event.offsetX, y: event.offsetY };
  }
  draw();
});

canvas.addEventListener("mousemove", (event) => {
  const [u, v] = toImage(event.offsetX, event.offsetY);
  state.mouse = { u, v };
  const tooltip = $("tooltip");
  if (state.drag && state.drag.kind === "joint") {
    const { person, joint } = state.selected;
    const j = state.frame.people[person].joints[joint];
    j[0] = Math.round(u * 100) / 100;
    j[1] = Math.round(v * 100) / 100;
    state.drag.moved = true;
    draw();
  } else if (state.drag && state.drag.kind === "pan") {
    state.view.x += event.offsetX - state.drag.x;
    state.view.y += event.offsetY - state.drag.y;
    state.drag.x = event.offsetX;
    state.drag.y = event.offsetY;
    draw();
  }
  const hover = pick(event.offsetX, event.offsetY);
  if (hover) {
    const person = state.frame.people[hover.person];
    tooltip.textContent = `${state.session.joints[hover.joint]} (person ${person.track_id})`;
    tooltip.style.left = `${event.offsetX + 12}px`;
    tooltip.style.top = `${event.offsetY + 12}px`;
    tooltip.style.display = "block";
  } else {
    tooltip.style.display = "none";
  }
});

window.addEventListener("mouseup", () => {
  const drag = state.drag;
  state.drag = null;
  if (drag && drag.kind === "joint" && drag.moved) {
    change(() => {}, drag.before);
    describeSelection();
  }
});

canvas.addEventListener("wheel", (event) => {
  event.preventDefault();
  const factor = event.deltaY < 0 ? 1.15 : 1 / 1.15;
  state.view.x = event.offsetX - (event.offsetX - state.view.x) * factor;
  state.view.y = event.offsetY - (event.offsetY - state.view.y) * factor;
  state.view.scale *= factor;
  draw();
}, { passive: false });

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") return;
  const key = event.key;
  if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "z") {
    event.preventDefault();
    if (event.shiftKey) restore("redo", "undo"); else restore("undo", "redo");
  } else if ((event.ctrlKey || event.metaKey) && key.toLowerCase() === "y") {
    event.preventDefault();
    restore("redo", "undo");
  } else if (event.ctrlKey || event.metaKey || event.altKey) {
    return;
  } else if (key === "ArrowRight" || key === "d") go(state.number + 1);
  else if (key === "ArrowLeft" || key === "a") go(state.number - 1);
  else if (key === "0" || key === "1" || key === "2") setVisibility(Number(key));
  else if (key === "Delete" || key === "Backspace") setVisibility(0);
  else if (key === "j") placeJoint();
  else if (key === "n") addPerson();
  else if (key === "x" && state.selected) {
    const p = state.selected.person;
    state.selected = null;
    change(() => { state.frame.people.splice(p, 1); });
  } else if (key === "c") copyPrevious();
  else if (key === "i") interpolateSelected(false);
  else if (key === "I") interpolateSelected(true);
  else if (key === "r") change(() => { state.frame.state = "reviewed"; });
  else if (key === "g") { event.preventDefault(); $("jump").focus(); }
  else if (key === "?") $("help").hidden = !$("help").hidden;
  else if (key === "Escape") $("help").hidden = true;
});

$("prev").onclick = () => go(state.number - 1);
$("next").onclick = () => go(state.number + 1);
$("undo").onclick = () => restore("undo", "redo");
$("redo").onclick = () => restore("redo", "undo");
$("reviewed").onclick = () => change(() => { state.frame.state = "reviewed"; });
$("help-button").onclick = () => { $("help").hidden = !$("help").hidden; };
$("jump").addEventListener("change", (event) => { go(Number(event.target.value) - 1); event.target.blur(); });
for (const id of ["near", "far"]) $(id).addEventListener("change", () => go(state.number));
window.addEventListener("resize", draw);

async function start() {
  try {
    state.session = await api("GET", "/api/session");
  } catch (error) { message(error.message, true); return; }
  $("source").textContent = `${state.session.source} -> ${state.session.out}`;
  const select = $("add-joint");
  select.innerHTML = '<option value="-1">first missing</option>' +
    state.session.joints.map((name, j) => `<option value="${j}">${name}</option>`).join("");
  await show(state.session.position);
  document.body.dataset.ready = "true";
}

start();

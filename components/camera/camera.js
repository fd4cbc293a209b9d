// HAR Studio's camera component: record a clip, or send the live camera's last seconds.
//
// Streamlit's component protocol over postMessage (no npm build): "componentReady" once,
// "render" events bring the Python side's arguments, "setComponentValue" sends a value
// (the Python side reruns and reads it), "setFrameHeight" sizes the iframe.
//
// Record mode: MediaRecorder writes 250 ms chunks into IndexedDB as it records (an outbox),
// so a page refresh mid-way loses at most the last chunk; a finished recording is sent
// whole, one at a time, and deleted from the outbox only when the server's acks name it.
// Recordings left by an earlier page (refreshed while recording or sending) are sent on the
// next start. Live mode: a canvas grabs small JPEG frames into a ring buffer of the last
// `window` seconds; every `every_ms` the buffer is sent, once the server acknowledged the
// previous one (its answers are drawn), so the page is never flooded.
"use strict";

const $ = (id) => document.getElementById(id);
const app = $("app");
const state = {
  args: null, // the latest render arguments
  stream: null,
  recorder: null,
  current: null, // the recording in progress: {id, mime, context, started}
  inFlight: null, // the recording sent and not yet acknowledged: {id, sent}
  frames: [], // live ring buffer: {t, jpg}
  seqSent: 0,
  seqAcked: 0,
  lastSend: 0,
  roundTrips: [], // live: milliseconds from sending frames to their answers being drawn
};
window.harCamera = state; // read by the tests and benchmarks

// --- Streamlit's protocol -------------------------------------------------------------
function post(type, data) {
  window.parent.postMessage({ isStreamlitMessage: true, type, ...data }, "*");
}
function setValue(value) {
  post("streamlit:setComponentValue", { value, dataType: "json" });
}
function fitHeight() {
  post("streamlit:setFrameHeight", { height: Math.ceil(app.getBoundingClientRect().height) + 8 });
}
new ResizeObserver(fitHeight).observe(app);
window.addEventListener("message", (event) => {
  if (event.data && event.data.type === "streamlit:render") onRender(event.data);
});
post("streamlit:componentReady", { apiVersion: 1 });

function say(text, isError = false) {
  $("status").textContent = text; // text, never markup
  $("status").className = isError ? "error" : "";
  $("status").setAttribute("role", isError ? "alert" : "status");
}
function setState(name) {
  app.dataset.state = name;
}

function applyTheme(theme) {
  if (!theme) return;
  const root = document.documentElement.style;
  if (theme.textColor) root.setProperty("--text", theme.textColor);
  if (theme.backgroundColor) root.setProperty("--back", theme.backgroundColor);
  if (theme.primaryColor) root.setProperty("--primary", theme.primaryColor);
}

function onRender(data) {
  const first = state.args === null;
  state.args = data.args || {};
  applyTheme(data.theme);
  if (first) start();
  if (state.args.mode === "live") {
    const ack = Number(state.args.ack) || 0;
    if (ack === state.seqSent && ack > state.seqAcked) {
      state.roundTrips.push(performance.now() - state.lastSend); // for benchmarks/camera_live.py
      if (state.roundTrips.length > 100) state.roundTrips.shift();
    }
    state.seqAcked = Math.max(state.seqAcked, ack);
  } else {
    handleAcks(state.args.acks || []);
  }
}

// --- the camera -------------------------------------------------------------------------
const CAMERA_ERRORS = {
  NotAllowedError:
    "The camera is blocked for this page: allow it (the camera icon in the address bar), " +
    "then reload the page.",
  SecurityError:
    "The camera is blocked for this page: allow it (the camera icon in the address bar), " +
    "then reload the page.",
  NotFoundError: "No camera was found: connect one and reload the page, or upload a video.",
  OverconstrainedError: "No camera was found that can film video; upload a video instead.",
  NotReadableError:
    "The camera is busy (another program or tab is using it): close that, then reload.",
  AbortError: "The camera stopped while starting: reload the page to try again.",
};

async function start() {
  const live = state.args.mode === "live";
  $("record-bar").hidden = live;
  $("live-caption").textContent = live
    ? `Camera: the models see its last ${state.args.window} s`
    : "Camera";
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setState("error");
    say(
      "This browser only lends the camera to secure pages: open the app at " +
        "http://localhost or http://127.0.0.1 on this computer, or over https.",
      true,
    );
    return;
  }
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 25, max: 30 } },
      audio: false,
    });
  } catch (err) {
    setState("error");
    const name = (err && err.name) || "Error";
    say(CAMERA_ERRORS[name] || `The camera could not start (${name}); reload the page or upload a video.`, true);
    return;
  }
  const video = $("live");
  video.srcObject = state.stream;
  await video.play().catch(() => {});
  if (live) {
    startLive(video);
  } else {
    startRecorder();
    flushOutbox();
  }
}

// --- the outbox: recordings in IndexedDB until the server has them ---------------------
const db = (() => {
  let opened = null;
  function open() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = indexedDB.open("har-camera", 1);
        req.onupgradeneeded = () => {
          req.result.createObjectStore("recordings", { keyPath: "id" });
          req.result.createObjectStore("chunks", { keyPath: ["id", "n"] });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return opened;
  }
  async function run(store, mode, fn) {
    const conn = await open();
    return new Promise((resolve, reject) => {
      const tx = conn.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
    });
  }
  const range = (id) => IDBKeyRange.bound([id, 0], [id, Infinity]);
  return {
    put: (rec) => run("recordings", "readwrite", (s) => s.put(rec)),
    all: () => run("recordings", "readonly", (s) => s.getAll()),
    chunk: (id, n, blob) => run("chunks", "readwrite", (s) => s.put({ id, n, blob })),
    chunks: (id) => run("chunks", "readonly", (s) => s.getAll(range(id))),
    remove: async (id) => {
      await run("chunks", "readwrite", (s) => s.delete(range(id)));
      await run("recordings", "readwrite", (s) => s.delete(id));
    },
  };
})();

function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

function pickMime() {
  const kinds = ["video/webm;codecs=vp8", "video/webm;codecs=vp9", "video/webm", "video/mp4"];
  return kinds.find((k) => window.MediaRecorder && MediaRecorder.isTypeSupported(k)) || "";
}

function toBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

async function flushOutbox() {
  if (state.inFlight && Date.now() - state.inFlight.sent < 20000) return; // wait for its ack
  let waiting;
  try {
    waiting = (await db.all()).filter((r) => !state.current || r.id !== state.current.id);
  } catch (err) {
    return; // no IndexedDB (a private window): recordings are sent straight from memory
  }
  if (!waiting.length) return;
  waiting.sort((a, b) => a.started - b.started);
  const rec = waiting[0];
  const parts = (await db.chunks(rec.id)).sort((a, b) => a.n - b.n).map((c) => c.blob);
  if (!parts.length) {
    await db.remove(rec.id);
    return flushOutbox();
  }
  const blob = new Blob(parts, { type: rec.mime });
  if (!rec.complete) say("Sending a recording that a page refresh interrupted...");
  send(rec, blob);
}

async function send(rec, blob) {
  state.inFlight = { id: rec.id, sent: Date.now() };
  setState("sending");
  const seconds = ((rec.last || rec.started) - rec.started) / 1000;
  setValue({
    kind: "recording",
    id: rec.id,
    mime: rec.mime,
    context: rec.context,
    seconds: rec.seconds || seconds,
    recovered: !rec.complete,
    data: await toBase64(blob),
  });
}

async function handleAcks(acks) {
  for (const id of acks) {
    if (state.inFlight && state.inFlight.id === id) {
      state.inFlight = null;
      if (!state.current) {
        setState("ready");
        say("Stored. Record another, or see what the page made of it.");
      }
    }
  }
  let stored = [];
  try {
    stored = await db.all();
  } catch (err) {
    return;
  }
  for (const rec of stored) if (acks.includes(rec.id)) await db.remove(rec.id);
  if (!state.inFlight) flushOutbox();
}

// --- record mode ---------------------------------------------------------------------------
function startRecorder() {
  const mime = pickMime();
  if (!mime) {
    setState("error");
    say("This browser cannot record video (no MediaRecorder); upload a video instead.", true);
    return;
  }
  $("record").disabled = false;
  $("record").onclick = () => record(mime);
  $("stop").onclick = () => stop();
  setState("ready");
  say(`Press Record, do the action for 2-${maxSeconds()} s, then Stop.`);
}

const maxSeconds = () => Number(state.args.max_seconds) || 5;
const minSeconds = () => Number(state.args.min_seconds) || 1;

async function record(mime) {
  $("record").disabled = true;
  $("timer").textContent = ""; // not the last recording's length
  const rec = { id: newId(), mime, context: state.args.context || {}, started: Date.now() };
  state.current = rec;
  let n = 0;
  let saving = Promise.resolve();
  state.savedChunks = 0;
  const memory = []; // the same chunks in memory: a browser without IndexedDB still sends
  try {
    await db.put(rec);
  } catch (err) {
    /* no IndexedDB: nothing survives a refresh, but recording still works */
  }
  const recorder = new MediaRecorder(state.stream, { mimeType: mime, videoBitsPerSecond: 1500000 });
  state.recorder = recorder;
  recorder.ondataavailable = (event) => {
    if (!event.data || !event.data.size) return;
    memory.push(event.data);
    const k = n++;
    rec.last = Date.now();
    saving = saving
      .then(() => db.chunk(rec.id, k, event.data).then(() => db.put(rec)))
      .then(() => (state.savedChunks = k + 1)) // in the outbox: survives a refresh
      .catch(() => {});
  };
  recorder.onstop = async () => {
    clearInterval(state.timer);
    $("timer").className = "";
    $("record").disabled = false;
    $("stop").disabled = true;
    await saving;
    const seconds = (Date.now() - rec.started) / 1000;
    state.current = null;
    if (seconds < minSeconds()) {
      await db.remove(rec.id).catch(() => {});
      setState("ready");
      say(
        `That recording lasted only ${seconds.toFixed(1)} s: record at least ` +
          `${minSeconds()} s (2-${maxSeconds()} s of the action is best).`,
        true,
      );
      return;
    }
    rec.complete = true;
    rec.seconds = seconds;
    await db.put(rec).catch(() => {});
    const blob = new Blob(memory, { type: mime });
    showPreview(blob, seconds);
    say(`Recorded ${seconds.toFixed(1)} s. Sending it...`);
    if (state.inFlight) return; // sent after the one in flight is acknowledged
    send(rec, blob);
  };
  recorder.start(250);
  rec.started = Date.now(); // the length counts from here, not from the click
  setState("recording");
  $("record").disabled = true;
  $("stop").disabled = false;
  $("timer").className = "on";
  const tick = () => {
    const seconds = (Date.now() - rec.started) / 1000;
    $("timer").textContent = `${seconds.toFixed(1)} s / ${maxSeconds()} s`;
    if (seconds >= maxSeconds()) stop();
  };
  tick();
  state.timer = setInterval(tick, 100);
  say("Recording...");
}

function stop() {
  if (state.recorder && state.recorder.state === "recording") state.recorder.stop();
}

function showPreview(blob, seconds) {
  const preview = $("preview");
  if (preview.src) URL.revokeObjectURL(preview.src);
  preview.src = URL.createObjectURL(blob);
  preview.play().catch(() => {});
  $("preview-caption").textContent = `Last recording (${seconds.toFixed(1)} s)`;
  $("preview-box").hidden = false;
}

// --- live mode -----------------------------------------------------------------------------
function startLive(video) {
  const fps = Number(state.args.fps) || 10;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d");
  const grab = () => {
    if (!video.videoWidth) return;
    const width = Number(state.args.width) || 160;
    canvas.width = width;
    canvas.height = Math.round((width * video.videoHeight) / video.videoWidth / 2) * 2;
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const now = performance.now();
    state.frames.push({ t: now, jpg: canvas.toDataURL("image/jpeg", 0.85).split(",", 2)[1] });
    const keep = (Number(state.args.window) || 2) * 1000;
    while (state.frames.length && state.frames[0].t < now - keep) state.frames.shift();
    sendFrames(now);
  };
  setInterval(grab, 1000 / fps);
  setState("live");
  say(`Live: the models answer on the last ${state.args.window || 2} s of the camera.`);
}

function sendFrames(now) {
  const every = Number(state.args.every_ms) || 333;
  const waiting = state.seqSent > state.seqAcked && now - state.lastSend < 3000;
  if (waiting || now - state.lastSend < every || state.frames.length < 2) return;
  const frames = state.frames;
  const span = (frames[frames.length - 1].t - frames[0].t) / 1000;
  state.seqSent += 1;
  state.lastSend = now;
  setValue({
    kind: "frames",
    seq: state.seqSent,
    fps: span > 0 ? (frames.length - 1) / span : 0,
    frames: frames.map((f) => f.jpg),
  });
}

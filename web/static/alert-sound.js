// A short alarm when a red alert or incident arrives live: synthesised with the Web Audio API
// (no audio file, nothing fetched), at most once per GAP_MS so that a burst is one alarm.
// Browsers keep audio off until the page has had a user gesture: until then a hint asks for a
// click. The mute choice is kept in localStorage.
"use strict";

const alertSound = (() => {
  const GAP_MS = 4000;
  const MUTED_KEY = "xueliang.alertSound.muted";
  const toggle = document.getElementById("sound-toggle");
  const hint = document.getElementById("sound-hint");
  let context = null;  // created on the first gesture: before it, it would stay suspended
  let lastAt = -Infinity;
  let muted = localStorage.getItem(MUTED_KEY) === "1";

  function show() {
    toggle.textContent = muted ? "🔕 提示音关 Sound off" : "🔔 提示音开 Sound on";
    toggle.title = muted ? "点击开启红色告警提示音 Click to turn the red-alert sound on"
      : "点击静音 Click to mute the red-alert sound";
    toggle.setAttribute("aria-pressed", String(muted));
    hint.hidden = muted || context !== null;
  }

  function unlock() {
    if (context) return;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    context = new Context();
    context.resume().catch(() => null);
    show();
  }

  // Two tones alternating, one oscillator (one start per alarm), with a soft envelope.
  function alarm() {
    const now = performance.now();
    if (muted || !context || now - lastAt < GAP_MS) return;
    lastAt = now;
    const t = context.currentTime;
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.type = "square";
    for (let i = 0; i < 6; i += 1) tone.frequency.setValueAtTime(i % 2 ? 660 : 880, t + i * 0.15);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.setValueAtTime(0.2, t + 0.85);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.9);
    tone.connect(gain).connect(context.destination);
    tone.start(t);
    tone.stop(t + 0.9);
  }

  toggle.addEventListener("click", () => {
    muted = !muted;
    localStorage.setItem(MUTED_KEY, muted ? "1" : "0");
    show();
  });
  // Any gesture on the page counts (the hint is only the obvious place to click). On click, not
  // pointerdown: hiding the hint moves the header, and a press that moved would lose its click.
  for (const type of ["click", "keydown"]) document.addEventListener(type, unlock, { capture: true });
  show();

  return { alarm };
})();

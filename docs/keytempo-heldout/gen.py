"""Held-out key/tempo pieces, half in 3/4 and half in 4/4, written independently of the dev
set's generator (only its README was read) and rendered with FluidSynth and the FluidR3 GM
soundfont, then encoded as Ogg Vorbis q4.

Usage: gen.py OUT_DIR N SEED [CHORD_TONE_SHARE]
Needs: python3 with mido; Debian packages fluidsynth, fluid-soundfont-gm, ffmpeg.
Writes OUT_DIR/hoNNN.ogg, labels.tsv (file, key, bpm of the quarter-note beat, has_drums; the
format of keytempo-score.py) and details.tsv (meter, chord and bass styles).

The sets reported in fusion/README.md: `gen.py set1 40 20261125`, `gen.py set2 60 777`,
`gen.py set3 60 4242 0.6` (melody on chord tones 60 % of the time; otherwise any scale note)."""
import mido, random, subprocess, os, sys
OUT = sys.argv[1]; N = int(sys.argv[2]); SEED = int(sys.argv[3])
CHORD_TONES = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
os.makedirs(OUT, exist_ok=True)
rng = random.Random(SEED)
NAMES = ['C','C#','D','Eb','E','F','F#','G','Ab','A','Bb','B']
MAJ = [0,2,4,5,7,9,11]; MIN = [0,2,3,5,7,8,10]
PROG_MAJ = [[0,3,4,0],[0,5,3,4],[0,4,5,3],[0,3,0,4],[0,1,4,0]]
PROG_MIN = [[0,5,2,6],[0,3,4,0],[0,5,6,0],[0,3,6,2]]
def triad(scale, deg, minor):
    notes = [scale[(deg+i) % 7] + 12*((deg+i)//7) for i in (0,2,4)]
    if minor and deg == 4: notes[1] = 11  # harmonic-minor dominant (raised 7th)
    return notes
labels = []
for n in range(N):
    tonic = rng.randrange(12); minor = rng.random() < 0.5
    meter = 3 if n % 2 == 0 else 4
    bpm = rng.randint(60, 180)
    drums = rng.random() < 0.75
    tpb = 480
    scale = MIN if minor else MAJ
    prog = list(rng.choice(PROG_MIN if minor else PROG_MAJ))
    bars = max(6, int(round(30 * bpm / 60 / meter)))
    degs = [prog[i % len(prog)] for i in range(bars - 2)] + [4, 0]
    chord_style = rng.choice(['sustain','beats','arp8','first'])
    bass_style = rng.choice(['bar','beats','eighths','root5'])
    progs = (rng.choice([0,4,16,24,48,88]), rng.choice([32,33,34,35]), rng.choice([56,65,71,73,40]))
    mid = mido.MidiFile(ticks_per_beat=tpb)
    tr = mido.MidiTrack(); mid.tracks.append(tr)
    tr.append(mido.MetaMessage('set_tempo', tempo=int(60_000_000 / bpm)))
    tr.append(mido.MetaMessage('time_signature', numerator=meter, denominator=4))
    for ch, p in zip((0,1,2), progs): tr.append(mido.Message('program_change', channel=ch, program=p, time=0))
    ev = []  # (tick, type, ch, note, vel)
    def note(t, dur, ch, pitch, vel):
        ev.append((int(t), 'note_on', ch, pitch, vel)); ev.append((int(t+dur*0.95), 'note_off', ch, pitch, 0))
    base = 48 + tonic if tonic < 6 else 36 + tonic
    for b, d in enumerate(degs):
        t0 = b * meter * tpb
        ch = [base + x for x in triad(scale, d, minor)]
        if chord_style == 'sustain':
            for p in ch: note(t0, meter*tpb, 0, p, 70)
        elif chord_style == 'beats':
            for k in range(meter):
                for p in ch: note(t0 + k*tpb, tpb, 0, p, 70 if k else 80)
        elif chord_style == 'first':
            for p in ch: note(t0, tpb, 0, p, 80)
            for p in ch: note(t0 + tpb*(meter-1), tpb, 0, p, 65)
        else:
            for k in range(2*meter): note(t0 + k*tpb//2, tpb//2, 0, ch[k % 3] + (12 if k % 6 >= 3 else 0), 70)
        root = base - 12 + triad(scale, d, minor)[0]
        if bass_style == 'bar': note(t0, meter*tpb, 1, root, 90)
        elif bass_style == 'beats':
            for k in range(meter): note(t0 + k*tpb, tpb, 1, root, 90 if k == 0 else 80)
        elif bass_style == 'eighths':
            for k in range(2*meter): note(t0 + k*tpb//2, tpb//2, 1, root, 85 if k == 0 else 75)
        else:
            for k in range(meter): note(t0 + k*tpb, tpb, 1, root + (7 if k % 2 else 0), 85)
        # melody: scale notes, durations summing to the bar
        t = 0
        while t < meter*tpb:
            dur = rng.choice([tpb//2, tpb, tpb, 2*tpb])
            dur = min(dur, meter*tpb - t)
            if CHORD_TONES > 0 and rng.random() < CHORD_TONES:
                pitch = 12 + rng.choice(ch)
            else:
                pitch = base + 12 + scale[rng.randrange(7)]
            note(t0 + t, dur, 2, pitch, 75)
            t += dur
        if drums:
            for k in range(meter):
                bt = t0 + k*tpb
                if meter == 4:
                    note(bt, tpb//2, 9, 36 if k in (0, 2) else 38, 100)
                else:
                    note(bt, tpb//2, 9, 36 if k == 0 else 38, 100 if k == 0 else 80)
                note(bt, tpb//4, 9, 42, 60); note(bt + tpb//2, tpb//4, 9, 42, 50)
    ev.sort(key=lambda e: (e[0], e[1] == 'note_on'))
    last = 0
    for tick, typ, ch, p, v in ev:
        tr.append(mido.Message(typ, channel=ch, note=p, velocity=v, time=tick - last)); last = tick
    name = f'ho{n:03d}'
    midp = f'{OUT}/{name}.mid'; mid.save(midp)
    subprocess.run(['fluidsynth', '-ni', '-q', '-g', '0.6', '-r', '44100', '-F', f'{OUT}/{name}.wav', '/usr/share/sounds/sf2/FluidR3_GM.sf2', midp], check=True, capture_output=True)
    subprocess.run(['ffmpeg', '-loglevel', 'error', '-y', '-i', f'{OUT}/{name}.wav', '-c:a', 'libvorbis', '-q:a', '4', f'{OUT}/{name}.ogg'], check=True)
    os.remove(f'{OUT}/{name}.wav'); os.remove(midp)
    labels.append((f'{name}.ogg', f"{NAMES[tonic]} {'minor' if minor else 'major'}", bpm, meter, int(drums), chord_style, bass_style))
with open(f'{OUT}/labels.tsv', 'w') as f:
    f.write('file\tkey\tbpm\thas_drums\n')
    for l in labels: f.write(f'{l[0]}\t{l[1]}\t{l[2]}\t{l[4]}\n')
with open(f'{OUT}/details.tsv', 'w') as f:
    f.write('file\tmeter\tchords\tbass\n')
    for l in labels: f.write(f'{l[0]}\t{l[3]}/4\t{l[5]}\t{l[6]}\n')
print(len(labels))

#!/usr/bin/env bash
# make test-avx512: the AVX-512 kernels' tests on an emulated AVX-512 CPU,
# for machines without one (AMD Zen 3 and older).
#
# Bochs (Debian's package, built with EVEX support) emulates an Intel
# Skylake-X (AVX-512F, CD, BW, DQ, VL; no VNNI); Debian's stock kernel
# boots in it from a CD image, with an initramfs holding busybox, the
# fixtures and the project's test binaries built statically, and runs the
# tests of the AVX-512 kernels:
#
#   - crates/linalg/tests/kernels.rs with TEST_KERNELS=avx512 (the naive
#     oracle on every edge shape, step 11 = step 10 bit for bit, pixels in
#     place);
#   - crates/infer/tests/accuracy.rs with TEST_KERNELS=avx2,avx512: numpy's
#     prediction on all 10,000 images at every batch size and thread count,
#     the pixel path's logits bit for bit;
#   - crates/infer/tests/int8.rs: every int8 pass the emulated CPU runs
#     gives the portable pass's logits on all 10,000 images and odd shapes;
#   - the infer binary itself, on the commands `make measure` runs where
#     the CPU has AVX-512 (and VNNI): `infer eval` with the default kernel
#     and int8 pass (Kernel::best and IntKernel::best time their candidates
#     at startup) must print Accuracy:0.9352, and `infer sweep` with
#     `--kernel avx2,avx2-lines,avx2-pairs,avx512,avx512-lines,avx512-epilogue,avx512-prefetch,avx512-rows,avx512-chain,avx512-bits,avx512-colour,avx512-pass,avx512-union` (what make measure runs
#     there) and the VNNI precision and `infer kernels` with
#     the avx512 step must succeed (600 images; their speeds mean nothing).
#
# The int8 VNNI pass needs an emulated Ice Lake (AVX-512 VNNI), which
# Debian's Bochs 2.7 does not boot Linux on. Bochs 3 does, with the kernel
# parameters below; Debian has no package of it, so build it from
# https://github.com/bochs-emu/Bochs (checked with commit 783b58fd, 2026-08-22):
#
#   cd bochs && ./configure --enable-x86-64 --enable-cpu-level=6 --enable-avx \
#       --enable-evex --enable-all-optimizations --with-nogui --disable-debugger \
#       --enable-pci && make
#
# and run AVX512_EMU_BOCHS=/path/to/bochs/bochs make test-avx512: that
# binary, its own BIOS (bochs/bios), no display, and an emulated Ice Lake
# (Core i7-1065G7, model corei7_icelake_u) unless AVX512_EMU_CPU says
# otherwise.
#
# It checks results only: an emulator says nothing about speed. It takes
# an hour or more (Bochs interprets every instruction: on an AMD Zen 4
# host, 2026-12-03, the kernel tests and numpy's predictions with three
# kernels were done within 40 minutes, the pixels' logits test not) and
# needs root for apt-get the first time. Exit status: the tests' own; 1
# if no result came within AVX512_EMU_TIMEOUT seconds (default 5400).
#
# One kernel parameter works around two gaps in Bochs's CPU models that
# would make Linux turn XSAVE off, and with it AVX and AVX-512: Bochs
# reports the standard-format XSAVE size where the compacted one belongs,
# and no size for the protection-key state; clearcpuid=321,323,515,516
# (XSAVEC, XSAVES, PKU, OSPKE) keeps Linux on the standard format without
# protection keys. On the Ice Lake model Linux also stopped early in boot
# (after "Mountpoint-cache hash table entries") until the newer features
# it uses there were turned off too: the TSC deadline timer (152,
# lapic=notscdeadline), UMIP (514), RDPID (534), fast short REP MOV (580)
# and split-lock detection; which of them Bochs gets wrong was not
# narrowed down. The tests need none of them.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${AVX512_EMU_DIR:-$ROOT/target/avx512-emu}
TIMEOUT=${AVX512_EMU_TIMEOUT:-5400}
BOCHS=${AVX512_EMU_BOCHS:-}
if [ -n "$BOCHS" ]; then
    CPU_MODEL=${AVX512_EMU_CPU:-corei7_icelake_u}
    BIOS=$(dirname "$BOCHS")/bios/BIOS-bochs-latest
    DISPLAY_LIBRARY=nogui
    RUN_BOCHS="$BOCHS -q -f $WORK/bochsrc"
    EXTRA_ARGS="clearcpuid=152,321,323,514,515,516,534,580 lapic=notscdeadline split_lock_detect=off"
else
    CPU_MODEL=${AVX512_EMU_CPU:-corei7_skylake_x}
    BIOS=/usr/share/bochs/BIOS-bochs-latest
    DISPLAY_LIBRARY=term
    # Bochs wants a terminal for its text display; script(1) gives it one
    RUN_BOCHS="script -qfc 'bochs-bin -q -f $WORK/bochsrc -rc $WORK/debugger.rc' /dev/null"
    EXTRA_ARGS="clearcpuid=321,323,515,516"
fi
mkdir -p "$WORK"

need=()
for cmd in ${BOCHS:-bochs-bin} xorriso cpio; do command -v "$cmd" >/dev/null || need+=("$cmd"); done
[ -x /bin/busybox ] && /bin/busybox --list 2>/dev/null | grep -qx poweroff || need+=(busybox-static)
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || need+=(isolinux)
if [ ${#need[@]} -gt 0 ]; then
    echo "avx512-emu: installing bochs, busybox-static, isolinux, xorriso (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q bochs bochs-term bochsbios vgabios \
        busybox-static isolinux syslinux-common xorriso cpio >"$WORK/apt.log" 2>&1 \
        || { echo "avx512-emu: apt-get failed, see $WORK/apt.log" >&2; exit 1; }
fi
if ! ls "$WORK"/kernel/boot/vmlinuz-* >/dev/null 2>&1; then
    image=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
    (cd "$WORK" && apt-get download "$image" >/dev/null 2>&1 && dpkg -x "$image"_*.deb kernel && rm -f "$image"_*.deb)
fi

echo "avx512-emu: building the test binaries, statically linked"
bins=$(cd "$ROOT" && RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/avx512-emu/cargo \
    cargo test --release --no-run --message-format=json -p linalg --test kernels -p infer --test accuracy --test int8 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] in ("kernels", "accuracy", "int8"):
        print(m["executable"])')
# the infer binary too, for the commands `make measure` runs on an
# AVX-512 CPU
(cd "$ROOT" && RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/avx512-emu/cargo \
    cargo build --release -q -p infer --bin infer)
bins="$bins $ROOT/target/avx512-emu/cargo/release/infer"

rm -rf "$WORK/initramfs" "$WORK/iso"
mkdir -p "$WORK/initramfs"/{bin,dev,proc,sys,t} "$WORK/initramfs$ROOT/crates/infer" "$WORK/iso/isolinux"
cp /bin/busybox "$WORK/initramfs/bin/busybox"
for b in $bins; do cp "$b" "$WORK/initramfs/t/$(basename "$b" | sed 's/-[0-9a-f]*$//')"; done
cp -r "$ROOT/fixtures" "$WORK/initramfs$ROOT/fixtures"
mknod -m 600 "$WORK/initramfs/dev/console" c 5 1
cat >"$WORK/initramfs/init" <<EOF
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
echo "EMU cpu: \$(grep -m1 'model name' /proc/cpuinfo)"
echo "EMU flags: \$(grep -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
cd $ROOT
status=0
# one kernel a run, so that a run that stops says which kernel it was
# on. On 2026-12-03 (AMD Zen 4 host) the guest went idle, Bochs at a few
# percent of a core with no output for the rest of its time, three times:
# twice with all five kernels in one run, inside the oracle test, and
# once in this loop after avx512 and avx512-lines had passed all 9 tests,
# in avx512-epilogue's run, which alone (with avx512-prefetch) had passed
# the oracle test: not tied to one kernel, and the cause was not found
for k in avx512 avx512-lines avx512-epilogue avx512-prefetch avx512-rows avx512-chain avx512-bits avx512-colour avx512-pass avx512-union avx512-fixed16; do
    TEST_KERNELS=\$k /t/kernels --test-threads=1 || status=1
done
TEST_KERNELS=avx2,avx512,avx512-lines,avx512-rows,avx512-chain,avx512-bits,avx512-colour,avx512-pass,avx512-union,avx512-fixed16 /t/accuracy --test-threads=1 every_prediction pixels_read fixed_point || status=1
/t/int8 --test-threads=1 every_int8_kernel int8_fast_passes the_best_int8_pass || status=1
# the commands make measure runs with AVX-512 (results, not speed): each
# must succeed, and eval must print the book's accuracy
passes=f32,int8-avx2
grep -qw avx512_vnni /proc/cpuinfo && passes=\$passes,int8-vnni
for cmd in "eval" "eval --precision int8" "eval --kernel avx512 --batch-size 1" \
    "sweep --batch-sizes 1,100 --kernel avx2,avx2-lines,avx2-pairs,avx512,avx512-lines,avx512-epilogue,avx512-prefetch,avx512-rows,avx512-chain,avx512-bits,avx512-colour,avx512-pass,avx512-union --repeat 1 --limit 600 --markdown" \
    "sweep --batch-sizes 1,100 --precision \$passes --repeat 1 --limit 600 --markdown" \
    "kernels --kernel avx2,avx512 --layers 1 --batch-sizes 1 --rounds 1"; do
    if /t/infer \$cmd >/t/out 2>&1; then
        case "\$cmd" in eval*) grep -q '^Accuracy:0.9352\$' /t/out || { echo "EMU infer \$cmd: no Accuracy:0.9352"; status=1; } ;; esac
        echo "EMU infer \$cmd: ok (\$(grep -m1 -E '^(kernel|precision) ' /t/out || tail -1 /t/out))"
    else
        echo "EMU infer \$cmd: failed"; sed 's/^/EMU   /' /t/out | tail -5; status=1
    fi
done
echo "EMU-EXIT \$status"
# let the serial console send the last lines before the power goes
sleep 3
poweroff -f
EOF
chmod +x "$WORK/initramfs/init"
(cd "$WORK/initramfs" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$WORK/iso/initrd.gz")
cp "$WORK"/kernel/boot/vmlinuz-* "$WORK/iso/vmlinuz"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$WORK/iso/isolinux/"
cat >"$WORK/iso/isolinux/isolinux.cfg" <<'EOF'
default linux
prompt 0
label linux
  kernel /vmlinuz
  append initrd=/initrd.gz console=ttyS0,115200 panic=-1 mitigations=off lpj=1000000 EXTRA_ARGS
EOF
sed -i "s/EXTRA_ARGS/$EXTRA_ARGS/" "$WORK/iso/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -o "$WORK/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$WORK/iso" 2>/dev/null
cat >"$WORK/bochsrc" <<EOF
megs: 1536
cpu: model=$CPU_MODEL, count=1, ips=200000000
romimage: file=$BIOS
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=$WORK/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$WORK/serial.out
display_library: $DISPLAY_LIBRARY
speaker: enabled=0
log: $WORK/bochs.log
clock: sync=none, time0=local
EOF
printf 'c\nquit\n' >"$WORK/debugger.rc"

echo "avx512-emu: booting Linux on an emulated $CPU_MODEL (Bochs); the serial console: $WORK/serial.out"
rm -f "$WORK/serial.out"
timeout "$TIMEOUT" sh -c "$RUN_BOCHS" >"$WORK/bochs.out" 2>&1 </dev/null &
emu=$!
while kill -0 "$emu" 2>/dev/null; do
    grep -aq '^EMU-EXIT' "$WORK/serial.out" 2>/dev/null && break
    sleep 5
done
pkill -f -- "-q -f $WORK/bochsrc" 2>/dev/null || true
wait "$emu" 2>/dev/null || true
grep -aE '^(EMU|test |running|test result|thread|  left| right|---- )' "$WORK/serial.out" || true
# the kernel's own messages may follow on the same line
result=$(grep -ao '^EMU-EXIT [0-9]*' "$WORK/serial.out" | head -1 | awk '{print $2}')
if [ -z "$result" ]; then
    echo "avx512-emu: no result within ${TIMEOUT}s; see $WORK/serial.out" >&2
    exit 1
fi
exit "$result"

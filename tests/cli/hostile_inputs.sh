#!/usr/bin/env bash
# Hostile-input corpus, end to end through `threadx sweep`: a generated set of malformed bar files
# (mutations of real BTC rows) and grid files, each run twice — into an empty directory and with
# --force over an existing results file. Every case must give exit status 1 (or CLI11's usage
# status for arguments it validates), exactly one stderr line naming the file and line (or key),
# nothing on stdout, no file left in the output directory, and the existing results file
# untouched (same bytes, same mtime). Positive controls (odd but valid files) must sweep.
#   bash tests/cli/hostile_inputs.sh <threadx binary> <source dir> [--keep DIR]
set -euo pipefail
bin="$(realpath "$1")"; src="$(realpath "$2")"
work="$(mktemp -d)"
if [ "${3:-}" = "--keep" ]; then work="$4"; rm -rf "$work"; mkdir -p "$work"; else trap 'rm -rf "$work"' EXIT; fi
cd "$work"
mkdir -p in out keep
real960="$src/data/BTCUSDT_15m_2024-12-01_2024-12-10.csv"
grid24="$src/data/grids/reference_24.toml"
fails=0 tried=0 rejected=0 controls=0
fail() { echo "FAIL [$case]: $*" >&2; fails=$((fails + 1)); }

# A valid results file to stand in for "an existing output" (its bytes and mtime must survive).
"$bin" -q sweep --data "$real960" --grid "$grid24" --out keep/existing.h5
touch -d '2001-02-03 04:05:06' keep/existing.h5
existing_sum="$(sha256sum < keep/existing.h5)"; existing_mtime="$(stat -c %y keep/existing.h5)"

# run_case <expected-rc> <expected substring> <sweep args...>: one rejected input, run twice.
run_case() {
  local want_rc="$1" want="$2"; shift 2
  tried=$((tried + 1))
  local ok=1 variant rc
  for variant in fresh force; do
    rm -rf out; mkdir out
    local extra=(--out out/r.h5)
    if [ "$variant" = force ]; then cp -p keep/existing.h5 out/r.h5; extra=(--out out/r.h5 --force); fi
    set +e; "$bin" -q sweep "$@" "${extra[@]}" > stdout.txt 2> stderr.txt; rc=$?; set -e
    if [ "$rc" != "$want_rc" ]; then fail "$variant: exit $rc, want $want_rc: $(head -c 300 stderr.txt)"; ok=0; continue; fi
    if [ "$(wc -l < stderr.txt)" != 1 ]; then fail "$variant: stderr is not one line: $(cat -A stderr.txt | head -c 600)"; ok=0; fi
    if ! grep -qF -- "$want" stderr.txt; then fail "$variant: want '$want' in: $(cat stderr.txt)"; ok=0; fi
    if [ -s stdout.txt ]; then fail "$variant: stdout not empty"; ok=0; fi
    if [ "$variant" = fresh ]; then
      if [ -n "$(ls -A out)" ]; then fail "fresh: left $(ls -A out | tr '\n' ' ')"; ok=0; fi
    else
      if [ "$(ls -A out)" != r.h5 ]; then fail "force: directory now holds $(ls -A out | tr '\n' ' ')"; ok=0
      elif [ "$(sha256sum < out/r.h5)" != "$existing_sum" ] || [ "$(stat -c %y out/r.h5)" != "$existing_mtime" ]; then
        fail "force: the existing results file was modified"; ok=0; fi
    fi
  done
  [ "$ok" = 1 ] && rejected=$((rejected + 1))
  return 0
}
# reject_data <file> <line or ""> <expected words> [extra sweep args]: "<file>:<line>: ...words".
reject_data() {
  local f="$1" line="$2" words="$3"; shift 3
  case="data $(basename "$f")"
  run_case 1 "error $f${line:+:$line}: " --data "$f" --grid "$grid24" "$@"
  if [ -n "$words" ] && ! grep -qF -- "$words" stderr.txt; then fail "want '$words' in: $(cat stderr.txt)"; fi
}
# reject_grid <line> <key> <text>: the text (printf format) as a new grid file in/g<N>.toml must
# give "<file>:<line>: key '<key>': ..." (key "": a TOML syntax error).
g=0
reject_grid() {
  local line="$1" key="$2"
  g=$((g + 1)); local f="in/g$g.toml"
  printf "$3" > "$f"
  case="grid $f"
  run_case 1 "error $f:$line: ${key:+key '$key': }" --data "$real960" --grid "$f"
}
# accept <name> <sweep args...>: a positive control, must give a complete results file.
accept() {
  case="control $1"; shift
  rm -rf out; mkdir out
  if ! "$bin" -q sweep "$@" --out out/r.h5 2> stderr.txt; then fail "rejected: $(cat stderr.txt)"; return 0; fi
  "$bin" info out/r.h5 | grep -q '^complete: 1$' || fail "not complete"
  controls=$((controls + 1))
}

# ---- bar files: mutations of 100 real rows (file lines 2..101) ----------------------------------
base=in/base.csv
head -101 "$real960" > "$base"
# mutate <name> <awk program>: in/<name>.csv from base (lines numbered as in the file).
mutate() { awk -F, -v OFS=, -v CONVFMT=%.15g "$2" "$base" > "in/$1.csv"; echo "in/$1.csv"; }

fields=(timestamp open high low close volume)
n=0
for k in 2 3 4 5 6; do
  name="${fields[$((k - 1))]}"
  for v in abc '' nan NaN -nan inf -inf Infinity 1e999 0x1A ' 97000' '97000 ' +97000 '97 000' '9.7e4.1' '"97000"'; do
    n=$((n + 1)); line=$((2 + (n * 7) % 100))
    reject_data "$(mutate "field_${name}_$n" "NR==$line{\$$k=\"${v//\"/\\\"}\"} {print}")" "$line" "$name"
  done
  for v in 0 -1 -0.0 -96407.99; do
    n=$((n + 1)); line=$((2 + (n * 7) % 100))
    if [ "$name" = volume ] && [ "$v" = 0 ]; then continue; fi   # zero volume is valid
    if [ "$name" = volume ] && [ "$v" = -0.0 ]; then continue; fi
    reject_data "$(mutate "sign_${name}_$n" "NR==$line{\$$k=\"$v\"} {print}")" "$line" "$name"
  done
done
for v in abc '' 1.7e12 1733011200000.0 -900000 99999999999999999999 '2024-12-01 00:00:00' 0x10 1733011200000000; do
  n=$((n + 1)); line=$((3 + (n * 7) % 99))
  reject_data "$(mutate "ts_$n" "NR==$line{\$1=\"$v\"} {print}")" "$line" "timestamp"
done
# Price relations on real rows.
reject_data "$(mutate high_below_low 'NR==60{t=$3;$3=$4;$4=t} {print}')" 60 "high"
reject_data "$(mutate high_below_max 'NR==61{$3=($2>$5?$2:$5)-0.001} {print}')" 61 "max(open, close)"
reject_data "$(mutate low_above_min 'NR==62{$4=($2<$5?$2:$5)+0.001} {print}')" 62 "min(open, close)"
# Structure.
reject_data "$(mutate truncated_line 'NR==40{$0=substr($0,1,20)} {print}')" 40 "columns"
head -c "$(( $(stat -c %s "$base") - 31 ))" "$base" > in/truncated_file.csv
reject_data in/truncated_file.csv 101 "columns"
reject_data "$(mutate extra_column 'NR==55{$0=$0",1"} {print}')" 55 "7 columns, expected 6"
reject_data "$(mutate missing_column 'NR==56{NF=5} {print}')" 56 "5 columns, expected 6"
reject_data "$(mutate empty_field 'NR==57{$3=""} {print}')" 57 "high"
reject_data "$(mutate blank_line 'NR==50{print ""} {print}')" 50 "empty line"
reject_data "$(mutate whitespace_line 'NR==50{print " "} {print}')" 50 ""
reject_data "$(mutate duplicate_row 'NR==70{print} {print}')" 71 "duplicate timestamp"
reject_data "$(mutate duplicate_ts 'NR==71{$1=prev} {prev=$1; print}')" 71 "duplicate timestamp"
reject_data "$(mutate unsorted 'NR==80{held=$0; next} NR==81{print; print held; next} {print}')" 81 "before the previous bar"
reject_data "$(mutate reversed 'NR==1{print; next} {l[NR]=$0} END{for(i=NR;i>1;i--) print l[i]}')" 3 "before the previous bar"
reject_data "$(mutate micros_in_plain 'NR>1{$1=$1"000"} {print}')" 2 "microseconds"
reject_data "$(mutate semicolons '{gsub(/,/, ";")} {print}')" 1 "unknown header"
reject_data "$(mutate tabs '{gsub(/,/, "\t")} {print}')" 1 "unknown header"
reject_data "$(mutate quoted_csv '{gsub(/,/, "\",\""); $0="\"" $0 "\""} {print}')" 1 "unknown header"
reject_data "$(mutate quoted_values 'NR>1{gsub(/,/, "\",\""); $0="\"" $0 "\""} {print}')" 2 "timestamp"
reject_data "$(mutate decimal_comma 'NR>1{for(i=2;i<=6;i++) sub(/\./, ",", $i)} {print}')" 2 "columns"
reject_data "$(mutate no_header 'NR>1{print}')" 1 "no header and 6 columns"
reject_data "$(mutate upper_header 'NR==1{$0=toupper($0)} {print}')" 1 "unknown header"
reject_data "$(mutate header_twice 'NR==51{print "timestamp,open,high,low,close,volume"} {print}')" 51 "timestamp"
reject_data "$(mutate nul_byte 'NR==45{$0=$0 "\0"} {print}')" 45 ""
reject_data "$(mutate long_line 'NR==30{s=sprintf("%5000s",""); gsub(/ /,"9",s); $6=s} {print}')" 30 "line longer than 4096 bytes"
# Empty and nearly empty files.
: > in/empty.csv;                              reject_data in/empty.csv "" "no bars (empty file)"
printf '\n\n\r\n' > in/blank_lines.csv;         reject_data in/blank_lines.csv "" "no bars (empty file)"
head -1 "$base" > in/header_only.csv;           reject_data in/header_only.csv "" "no bars (header only)"
head -1 "$base" | tr -d '\n' > in/header_no_newline.csv; reject_data in/header_no_newline.csv "" "no bars (header only)"
head -2 "$base" > in/one_bar.csv;               reject_data in/one_bar.csv "" "need at least 2 bars"
# Big and binary.
truncate -s 2G in/sparse_2g.csv;                reject_data in/sparse_2g.csv 1 "line longer than 4096 bytes"
head -1 "$base" > in/sparse_2g_header.csv; truncate -s 2G in/sparse_2g_header.csv
reject_data in/sparse_2g_header.csv 2 "line longer than 4096 bytes"
gzip -n -c "$base" > in/gzipped.csv;            reject_data in/gzipped.csv 1 ""
cp "$bin" in/elf_binary.csv;                    reject_data in/elf_binary.csv 1 ""
cp keep/existing.h5 in/hdf5_file.csv;           reject_data in/hdf5_file.csv 1 ""
iconv -f UTF-8 -t UTF-16 "$base" > in/utf16.csv; reject_data in/utf16.csv 1 "unknown header"
# A 49,632-bar real file broken on its last line: the error names that line.
big=in/real49632_broken.csv
sed '$ s/,[^,]*$/,oops/' "$src/data/BTCUSDT_15m_2023-10_2025-02.csv" > "$big"
reject_data "$big" 49633 "volume 'oops' is not a number"
# Binance kline files (12 columns, no header), built from the same real rows.
# kl <awk statements setting t from the open time $1> <name>; timestamps handled as text (mawk
# prints large numbers in %g).
kl() { awk -F, -v OFS=, "NR>1{t=\$1; $1 print t,\$2,\$3,\$4,\$5,\$6,t,1,1,1,1,0}" "$base" > "in/$2.csv"; echo "in/$2.csv"; }
reject_data "$(kl 'if (NR>50) t=t "000";' kline_ms_then_us)" 50 "microseconds but earlier rows are in milliseconds"
reject_data "$(kl 'if (NR<=60) t=t "000";' kline_us_then_ms)" 60 "milliseconds but earlier rows are in microseconds"
awk -F, -v OFS=, 'NR>1{print $1,$2,$3,$4,$5,$6,$1,1,1,1,1}' "$base" > in/kline_11_columns.csv
reject_data in/kline_11_columns.csv 1 "no header and 11 columns"
awk -F, -v OFS=, 'NR>1{x=(NR==30)?",7":""; print $1,$2,$3,$4,$5,$6,$1,1,1,1,1,0 x}' "$base" > in/kline_13_columns.csv
reject_data in/kline_13_columns.csv 29 "13 columns, expected 12"
# Several files: overlapping and in the wrong order (the error names the later file and line 2).
head -51 "$base" > in/first_half.csv; { head -1 "$base"; tail -n +52 "$base"; } > in/second_half.csv
{ head -1 "$base"; tail -n +51 "$base"; } > in/overlapping_half.csv
case="data overlap"; run_case 1 "error in/overlapping_half.csv:2: duplicate timestamp" --data in/first_half.csv in/overlapping_half.csv --grid "$grid24"
case="data twice"; run_case 1 "error in/first_half.csv:2: timestamp" --data in/first_half.csv in/first_half.csv --grid "$grid24"
case="data order"; run_case 1 "error in/first_half.csv:2: timestamp" --data in/second_half.csv in/first_half.csv --grid "$grid24"
# Timeframes that cannot apply.
reject_data "$base" "" "not a multiple of the data's bar size 15m" --timeframe 7m
reject_data "$base" "" "need at least 2 bars" --timeframe 1w
case="timeframe 7x"; run_case 1 "error --timeframe '7x'" --data "$base" --grid "$grid24" --timeframe 7x
case="timeframe 0m"; run_case 1 "error --timeframe '0m'" --data "$base" --grid "$grid24" --timeframe 0m
# Files CLI11 validates (its usage status 105, one line).
mkdir -p in/a_directory
case="data directory"; run_case 105 "--data: File is actually a directory: in/a_directory" --data in/a_directory --grid "$grid24"
case="data missing"; run_case 105 "--data: File does not exist: in/missing.csv" --data in/missing.csv --grid "$grid24"
case="data /dev/null"; run_case 1 "error /dev/null: no bars (empty file)" --data /dev/null --grid "$grid24"

# ---- grid files ---------------------------------------------------------------------------------
# Every parameter with values outside its domain or of the wrong type, swept (line 3) and fixed.
while read -r p values; do
  for v in $values; do
    v="${v//_/ }"
    reject_grid 3 "grid.$p" "strategy = \"bb_atr\"\n[grid]\n$p = [$v]\n"
    reject_grid 4 "fixed.$p" "# fixed\n[fixed]\n\n$p = $v\n"
  done
done <<'EOF'
bb_period 1 0 -5 2.5 20.0 "20" true nan 3000000000 99999999999999999999
bb_std 0 -1 nan inf -inf "2" false 1e400 1979-05-27
atr_period 0 -1 1.5 [7]
atr_multiplier 0 -0.5 -inf {_x_=_1_}
max_hold_bars 0 -3 1e3
spacing_bars -1 0.5
trend_period -1 -200 2.0
trailing_stop 2 -1 0.5 "yes"
risk_per_trade 0 1.5 -0.1 nan
leverage 0 -2 inf
fee_bps -1 -1e-9 nan
slippage_bps -0.5 inf
initial_capital 0 -1000 1e400 nan
EOF
# Lists and ranges.
reject_grid 2 grid.bb_std '[grid]\nbb_std = []\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = [2.0, 2.5, 2]\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1, stop = 2, step = 0 }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1, stop = 2, step = -0.5 }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1, stop = 2, step = nan }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1, stop = 2, step = inf }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 3, stop = 2, step = 1 }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1, stop = 2 }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1, stop = 2, step = 1, stp = 3 }\n'
reject_grid 2 grid.bb_period '[grid]\nbb_period = { start = 10, stop = 20, step = 2.5 }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = 2\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = "1.5,2.0"\n'
# Absurd ranges and huge grids.
reject_grid 2 grid.fee_bps '[grid]\nfee_bps = { start = 0, stop = 1, step = 1e-9 }\n'
reject_grid 2 grid.bb_period '[grid]\nbb_period = { start = 2, stop = 2000000000, step = 1 }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1, stop = 1e300, step = 1e-300 }\n'
reject_grid 2 grid.bb_std '[grid]\nbb_std = { start = 1e15, stop = 1.0000000000001e15, step = 1e-5 }\n'
fits=""
for p in bb_std atr_multiplier risk_per_trade leverage fee_bps slippage_bps initial_capital; do
  fits+="$p = { start = 0.01, stop = 0.4, step = 0.01 }\n"; done
for p in bb_period atr_period max_hold_bars spacing_bars trend_period; do
  fits+="$p = { start = 2, stop = 41, step = 1 }\n"; done
reject_grid 14 grid.trailing_stop "[grid]\n${fits}trailing_stop = [0, 1]\n"
# 40^12 = 1.7e19 combinations fit 64 bits but no disk: refused before anything is written.
f=in/grid_fits_64_bits.toml; printf "[grid]\n$fits" > "$f"; case="grid $f (2^64 - 1 fits, the disk does not)"
run_case 1 "error out/r.h5.partial: the results file needs" --data "$real960" --grid "$f"
# Structure and names.
reject_grid 1 strategy 'strategy = "macd"\n[grid]\nbb_std = [2]\n'
reject_grid 1 strategy 'strategy = 1\n'
reject_grid 2 threads 'strategy = "bb_atr"\nthreads = 4\n'
reject_grid 2 sweep 'strategy = "bb_atr"\n[sweep]\nthreads = 4\n'
reject_grid 2 grid.bb_periods '[grid]\nbb_periods = [20]\n'
reject_grid 2 fixed.fee '[fixed]\nfee = 1\n'
reject_grid 2 grid.strategy '[grid]\nstrategy = "bb_atr"\n'
reject_grid 1 grid 'grid = [1]\n'
reject_grid 1 fixed '[[fixed]]\nfee_bps = 1\n'
reject_grid 4 grid.bb_std '[fixed]\nbb_std = 2\n[grid]\nbb_std = [2, 3]\n'
reject_grid 2 'grid.bb\nperiod' '[grid]\n"bb\\nperiod" = [20]\n'
# TOML syntax.
reject_grid 3 "" 'strategy = "bb_atr"\n[grid]\nbb_std = = 2\n'
reject_grid 1 "" 'strategy = "bb_atr\n'
reject_grid 3 "" '[grid]\nbb_std = [2,\n'
reject_grid 3 "" '[grid]\nbb_std = [2]\nbb_std = [3]\n'
reject_grid 4 "" '[grid]\nbb_std = [2]\n\n[grid]\n'
reject_grid 1 "" '[grid\nbb_std = [2]\n'
reject_grid 2 "" '[fixed]\nfee_bps =\n'
reject_grid 2 "" '[fixed]\nfee_bps = 1,5\n'
gzip -n -c "$grid24" > in/grid_gzipped.toml
case="grid gzipped"; run_case 1 "error in/grid_gzipped.toml:" --data "$real960" --grid in/grid_gzipped.toml
cp keep/existing.h5 in/grid_hdf5.toml
case="grid hdf5"; run_case 1 "error in/grid_hdf5.toml:" --data "$real960" --grid in/grid_hdf5.toml
iconv -f UTF-8 -t UTF-16 "$grid24" > in/grid_utf16.toml
case="grid utf16"; run_case 1 "error in/grid_utf16.toml:1: " --data "$real960" --grid in/grid_utf16.toml
truncate -s 2G in/grid_sparse.toml
case="grid sparse"; run_case 1 "error in/grid_sparse.toml: grid file is larger than 1 MiB" --data "$real960" --grid in/grid_sparse.toml
# Deep nesting (toml11 recursed until the stack overflowed: a segfault before the fix).
rep() { head -c "$2" /dev/zero | tr '\0' "$1"; }
{ printf '[grid]\nbb_std = '; rep '[' 200000; rep ']' 200000; echo; } > in/grid_deep_list.toml
case="grid deep list"; run_case 1 "error in/grid_deep_list.toml:2: lists or inline tables nested too deep" --data "$real960" --grid in/grid_deep_list.toml
{ printf 'a = '; rep '{' 100000 | sed 's/{/{b=/g'; printf 1; rep '}' 100000; echo; } > in/grid_deep_table.toml
case="grid deep inline table"; run_case 1 "error in/grid_deep_table.toml:1: lists or inline tables nested too deep" --data "$real960" --grid in/grid_deep_table.toml
{ rep a 100000 | sed 's/a/a./g'; echo 'a = 1'; } > in/grid_dotted_key.toml
case="grid dotted key"; run_case 1 "error in/grid_dotted_key.toml:1: key with too many dotted parts" --data "$real960" --grid in/grid_dotted_key.toml
{ printf '['; rep a 100000 | sed 's/a/a./g'; echo 'a]'; } > in/grid_dotted_table.toml
case="grid dotted table"; run_case 1 "error in/grid_dotted_table.toml:1: key with too many dotted parts" --data "$real960" --grid in/grid_dotted_table.toml
# Not UTF-8 (toml11 read past its buffer on this, found by fuzzing).
printf "strategy = \"bb_atr\"\na = 'abc\xff'\n" > in/grid_latin1.toml
case="grid not utf-8"; run_case 1 "error in/grid_latin1.toml:2: not UTF-8 text (byte 0xff)" --data "$real960" --grid in/grid_latin1.toml
case="grid fuzz regression"; run_case 1 "error $src/tests/fuzz/regressions/grid-toml11-literal-string-0xff:1: not UTF-8" --data "$real960" --grid "$src/tests/fuzz/regressions/grid-toml11-literal-string-0xff"
case="grid directory"; run_case 105 "--grid: File is actually a directory" --data "$real960" --grid in/a_directory
case="grid missing"; run_case 105 "--grid: File does not exist" --data "$real960" --grid in/missing.toml

# ---- positive controls: unusual but valid ---------------------------------------------------------
accept "real 960 bars" --data "$real960" --grid "$grid24"
accept "100 real rows" --data "$base" --grid "$grid24"
sed 's/$/\r/' "$base" > in/crlf.csv;                 accept "CRLF" --data in/crlf.csv --grid "$grid24"
{ printf '\xef\xbb\xbf'; cat "$base"; printf '\n\n'; } > in/bom.csv; accept "BOM and blank tail" --data in/bom.csv --grid "$grid24"
head -c -1 "$base" > in/no_final_newline.csv;        accept "no final newline" --data in/no_final_newline.csv --grid "$grid24"
accept "kline ms" --data "$(kl '' kline_ms)" --grid "$grid24"
accept "kline us" --data "$(kl 't=t "000";' kline_us)" --grid "$grid24"
accept "two files in order" --data in/first_half.csv in/second_half.csv --grid "$grid24"
accept "zero volume" --data "$(mutate zero_volume 'NR==33{$6=0} {print}')" --grid "$grid24"
accept "resample to 1h" --data "$base" --grid "$grid24" --timeframe 1h
: > in/empty.toml;                                   accept "empty grid (defaults)" --data "$real960" --grid in/empty.toml
sed 's/$/\r/' "$grid24" > in/crlf.toml;              accept "CRLF grid" --data "$real960" --grid in/crlf.toml

echo "hostile inputs: $tried malformed inputs tried, $rejected rejected cleanly (exit status, one" \
     "stderr line naming file and line/key, no output, existing results file untouched);" \
     "$controls/12 valid controls swept"
[ "$fails" = 0 ] && [ "$rejected" = "$tried" ] && [ "$controls" = 12 ] || { echo "FAILED: $fails check(s)" >&2; exit 1; }
echo ok

# Mpps per 1-tunnel cell: tundra, the testpmd io floor and (when measured) OVS-DPDK side
# by side. Called by scripts/bench.sh:
#   gnuplot -e "datafile='bench/results/chart.dat'; outfile='bench/results/latest.png'" bench/chart.gp
set terminal pngcairo size 1400,600 noenhanced font ",10"
set output outfile
set title "tundra vs testpmd io (floor) vs OVS-DPDK — pcap → dataplane → null, one worker core"
set ylabel "Mpps"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set xtics rotate by -45 scale 0
set key top right
set grid ytics
set yrange [0:*]
set datafile missing "NaN"
plot datafile using 2:xtic(1) title columnheader(2) lc rgb "#1f77b4", \
     '' using 3 title columnheader(3) lc rgb "#bbbbbb", \
     '' using 4 title columnheader(4) lc rgb "#ff7f0e"

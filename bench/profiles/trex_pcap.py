# TRex stateless profile replaying one of make_profiles.sh's pcaps in a loop:
#   start -f bench/profiles/trex_pcap.py -t pcap=/path/vxlan-v4-decap-64-1.pcap -p 0 -m 10mpps
# (the same as TRex's own stl/pcap.py; not run here: TRex is not packaged by Debian).
from trex_stl_lib.api import STLProfile


class TundraPcap:
    def get_streams(self, direction=0, pcap=None, **kwargs):
        return STLProfile.load_pcap(pcap, ipg_usec=1, loop_count=0).get_streams()


def register():
    return TundraPcap()

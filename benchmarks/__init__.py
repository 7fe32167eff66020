# Copyright (c) esops.jobs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of esops.jobs against the usual ansible.builtin.uri loops (`make bench`, issue 7)."""

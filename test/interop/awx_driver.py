"""AWX's side of a receptor job, driven through receptorctl's Python API (interop tests).

Written for test/interop/awx.test.ts: it follows the calls AWX's controller makes
(awx/main/tasks/receptor.py) without depending on AWX. Each sub-command prints one JSON
object on stdout for the test to check.

  job    transmit a private data dir through a socketpair into submit_work, stream the unit's
         results into ansible-runner's processor, then release the unit
  cancel a job cancelled by its user while it runs: work cancel, then release
  info   the health check: `ansible-runner worker --worker-info` as a work unit
  submit an info unit that is left behind (for the reaper), or (--refused) report why the
         submission was refused
  reap   the administrative reaper: `work list`, release finished ansible-runner units
  reap-jobs  the work unit reaper for units of jobs that are over: cancel, then release
  kubejob    a container group job (awx-kube.test.ts): a local kubernetes-runtime-auth unit
             whose pod runs `ansible-runner worker`
"""
import argparse
import base64
import concurrent.futures
import json
import os
import shutil
import socket
import sys
import threading
import time

import yaml
from dateutil.parser import parse as parse_date
import ansible_runner
from receptorctl.socket_interface import ReceptorControl

ACTIVE = ('Pending', 'Running')
CONN_TYPES = {0: 'DATAGRAM', 1: 'STREAM', 2: 'STREAMTLS'}


def transmit(sock, runner_params, failures):
    try:
        out = sock.makefile('wb')
        ansible_runner.interface.run(streamer='transmit', _output=out, **runner_params)
        out.close()
    except Exception as e:  # reported by the caller
        failures.append(repr(e))
    finally:
        # the reader sees EOF only after this
        sock.shutdown(socket.SHUT_WR)


def conn_type(ctl, a):
    """Like AWX before each submission: the node's first advertisement in `status`, its ConnType;
    and the TLS client to submit with: --tls-client when that is STREAMTLS. Also the
    advertisement's Time as AWX's heartbeat reads it (dateutil), for the test to check."""
    end = time.monotonic() + a.deadline
    while True:
        for ad in ctl.simple_command('status').get('Advertisements') or []:
            if ad.get('NodeID') == a.node:
                connection = CONN_TYPES[ad.get('ConnType')]
                a.ad_time = parse_date(ad['Time']).isoformat()
                return connection, (a.tls_client if connection == 'STREAMTLS' else None)
        if time.monotonic() > end:
            raise RuntimeError(f'{a.node} is not in the receptor mesh')
        time.sleep(0.2)


def runner_params(a):
    return {'private_data_dir': a.pdd, 'playbook': a.playbook, 'ident': a.ident}


def submit_job(ctl, a, tlsclient):
    """Like AWXReceptorJob: ansible-runner's transmit stream, written in a thread into one end of a
    socketpair, is the payload of submit_work, read from the other end. Without --node, work for
    this node (AWX's `local` work type on a hybrid node: receptorctl then sends node localhost)."""
    sockin, sockout = socket.socketpair()
    failures = []
    t = threading.Thread(target=transmit, args=(sockin, runner_params(a), failures))
    t.start()
    # AWX deletes the private data dir after the job on execution nodes, not on hybrid ones
    params = f'--private-data-dir={a.exec_pdd} --delete' if a.node else f'--private-data-dir={a.exec_pdd}'
    result = ctl.submit_work(
        payload=sockout.makefile('rb'), worktype=a.worktype, node=a.node, signwork=a.sign, tlsclient=tlsclient,
        params={'params': params},
    )
    sockin.close()
    sockout.close()
    t.join()
    if failures:
        raise RuntimeError(f'transmit failed: {failures}')
    submitted(result)
    return result


def submitted(result):
    """Names the unit on stderr at once, for the test's diagnostics should this driver hang."""
    print(f"submitted unit {result['unitid']}", file=sys.stderr, flush=True)


def wait_done(ctl, unit_id, deadline):
    """Polls `work status` until the unit is no longer Pending or Running; returns the status."""
    end = time.monotonic() + deadline
    while True:
        status = ctl.simple_command(f'work status {unit_id}')
        if status.get('StateName') not in ACTIVE:
            return status
        if time.monotonic() > end:
            raise RuntimeError(f'unit {unit_id} still {status.get("StateName")} after {deadline} s')
        time.sleep(0.2)


def remote_status(a, status):
    """The test's look at the execution node's unit (--exec-socket) before the release."""
    if not a.exec_socket or not a.node:
        return None
    exec_ctl = ReceptorControl(a.exec_socket)
    try:
        return exec_ctl.simple_command(f'work status {status["ExtraData"]["RemoteUnitID"]}')
    finally:
        exec_ctl.close()


def process_results(ctl, unit_id, a):
    """Like AWXReceptorJob: the unit's results into ansible-runner's processor (after removing the
    private data dir's artifacts); returns what a job's report shares: the processor's status,
    the events and statuses it handled, the artifacts, and what the results stream still held
    after the worker's eof line."""
    artifacts = os.path.join(a.pdd, 'artifacts')
    if os.path.exists(artifacts):
        shutil.rmtree(artifacts)
    events = []
    statuses = []

    def on_event(ev):
        events.append({'counter': ev.get('counter'), 'event': ev.get('event')})
        return True

    def on_status(data, runner_config=None):
        statuses.append(data.get('status'))

    resultsock, resultfile = ctl.get_work_results(unit_id, return_socket=True, return_sockfile=True)
    res = ansible_runner.interface.run(
        streamer='process', quiet=True, _input=resultfile, event_handler=on_event, status_handler=on_status, **runner_params(a)
    )
    # The processor stops at the worker's eof line; the results stream itself ends only once the
    # unit has completed (AWX does not wait for that, the tests do, to check the unit's state).
    after_eof = resultfile.read()
    resultfile.close()
    resultsock.close()
    art = os.path.join(a.pdd, 'artifacts', a.ident)

    def read(name):
        p = os.path.join(art, name)
        return open(p).read().strip() if os.path.exists(p) else None

    return {
        'unitid': unit_id,
        'status': res.status,
        'statuses': statuses,
        'events': sorted(events, key=lambda e: e['counter'] or 0),
        'artifactStatus': read('status'),
        'artifactRc': read('rc'),
        'stdout': read('stdout'),
        'afterEof': after_eof.decode(errors='replace'),
    }


def job(a):
    ctl = ReceptorControl(a.socket)
    connection, tlsclient = conn_type(ctl, a) if a.node else (None, None)
    result = submit_job(ctl, a, tlsclient)
    unit_id = result['unitid']
    processed = process_results(ctl, unit_id, a)
    work_status = ctl.simple_command(f'work status {unit_id}')
    exec_status = remote_status(a, work_status)
    released = ctl.simple_command(f'work release {unit_id}')
    ctl.close()
    return {
        'connType': connection,
        'adTime': getattr(a, 'ad_time', None),
        'result': result,
        **processed,
        'workStatus': work_status,
        'execStatus': exec_status,
        'released': released,
    }

def cancel(a):
    """Like AWX when a user cancels a running job: `work cancel` while the processor reads the
    results, yank the results socket from under it, then release the unit."""
    ctl = ReceptorControl(a.socket)
    unit_id = submit_job(ctl, a, conn_type(ctl, a)[1] if a.node else None)['unitid']

    started = threading.Event()
    events = []

    def on_event(ev):
        events.append(ev.get('event'))
        if ev.get('event') == 'runner_on_start' and (ev.get('event_data') or {}).get('task') == a.task:
            started.set()
        return True

    resultsock, resultfile = ctl.get_work_results(unit_id, return_socket=True, return_sockfile=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as ex:
        processor = ex.submit(
            ansible_runner.interface.run, streamer='process', quiet=True, _input=resultfile, event_handler=on_event, **runner_params(a)
        )
        if not started.wait(a.deadline):
            raise RuntimeError(f'task {a.task} did not start within {a.deadline} s; events: {events}')
        deadline = time.monotonic() + a.deadline
        while not (os.path.exists(a.wait_file) and os.path.getsize(a.wait_file) > 0):
            if time.monotonic() > deadline:
                raise RuntimeError(f'{a.wait_file} was not written within {a.deadline} s')
            time.sleep(0.1)
        cancelled = ctl.simple_command(f'work cancel {unit_id}')
        resultsock.shutdown(socket.SHUT_RDWR)
        resultfile.close()
        # the processor ends on the closed stream (AWX ignores how)
        concurrent.futures.wait([processor])
    status = wait_done(ctl, unit_id, a.deadline)
    exec_status = remote_status(a, status)
    released = ctl.simple_command(f'work release {unit_id}')
    ctl.close()
    return {
        'unitid': unit_id,
        'cancelled': cancelled,
        'events': events,
        'workStatus': status,
        'execStatus': exec_status,
        'released': released,
    }


def info(a, release=True):
    """Like AWX's run_until_complete() for worker_info() (`--params`: --worker-info) and
    worker_cleanup() (cleanup …): submit, read results, poll the status, release."""
    ctl = ReceptorControl(a.socket)
    connection, tlsclient = conn_type(ctl, a)  # on the session that then submits, as AWX does
    try:
        result = ctl.submit_work(
            worktype=a.worktype, node=a.node, signwork=a.sign, tlsclient=tlsclient, ttl='20s', payload='',
            params={'params': a.params},
        )
    except RuntimeError as e:
        if not getattr(a, 'refused', False):
            raise
        return {'error': str(e)}
    submitted(result)
    unit_id = result['unitid']
    out = {'connType': connection, 'adTime': a.ad_time, 'result': result, 'unitid': unit_id}
    if not release:
        return out
    resultfile = ctl.get_work_results(unit_id)
    status = wait_done(ctl, unit_id, a.deadline)
    stdout = str(resultfile.read(), encoding='utf-8')
    resultfile.close()
    out['workStatus'] = status
    out['released'] = ctl.simple_command(f'work release {unit_id}')
    ctl.close()
    out['stdout'] = stdout
    if a.params == '--worker-info':
        out['data'] = yaml.safe_load(stdout.strip())
    return out


def reap_jobs(a):
    """AWX's receptor work unit reaper for units of jobs that are over: `work cancel`, then
    `work release`, whatever state the unit is in."""
    ctl = ReceptorControl(a.socket)
    out = {}
    for unit_id in a.units.split(','):
        cancelled = ctl.simple_command(f'work cancel {unit_id}')
        status = ctl.simple_command(f'work status {unit_id}')
        out[unit_id] = {'cancelled': cancelled, 'status': status, 'released': ctl.simple_command(f'work release {unit_id}')}
    ctl.close()
    return out


def reap(a):
    """AWX's administrative reaper: release finished health-check / cleanup units."""
    ctl = ReceptorControl(a.socket)
    work_list = ctl.simple_command('work list')
    types = a.worktypes.split(',')
    released = {}
    skipped = {}
    for unit_id, work in work_list.items():
        extra = work.get('ExtraData')
        if extra is None:
            skipped[unit_id] = 'no ExtraData'
            continue
        if isinstance(extra, str):
            if not work.get('StateName') or work.get('StateName') in ACTIVE:
                skipped[unit_id] = 'active'
                continue
        else:
            params = (extra.get('RemoteParams') or {}).get('params') or ''
            if extra.get('RemoteWorkType') not in types:
                skipped[unit_id] = 'work type'
                continue
            if not (params == '--worker-info' or params.startswith('cleanup')):
                skipped[unit_id] = 'not a health check'
                continue
            if work.get('StateName') in ACTIVE:
                skipped[unit_id] = 'active'
                continue
        released[unit_id] = ctl.simple_command(f'work release {unit_id}')
    ctl.close()
    return {'list': work_list, 'released': released, 'skipped': skipped}


def kube_config(host, token, ca_pem, namespace):
    """AWX's kubeconfig for a container group's credential (AWXReceptorJob.kube_config)."""
    config = {
        'apiVersion': 'v1',
        'kind': 'Config',
        'preferences': {},
        'clusters': [{'name': host, 'cluster': {'server': host}}],
        'users': [{'name': host, 'user': {'token': token}}],
        'contexts': [{'name': host, 'context': {'cluster': host, 'user': host, 'namespace': namespace}}],
        'current-context': host,
    }
    if ca_pem:
        config['clusters'][0]['cluster']['certificate-authority-data'] = base64.b64encode(ca_pem.encode()).decode()
    else:
        config['clusters'][0]['cluster']['insecure-skip-tls-verify'] = True
    return config


def pod_definition(a):
    """AWX's default pod spec for a container group job (get_default_pod_spec, then
    AWXReceptorJob.pod_definition: the EE image, ansible-runner worker, the job's name and labels)."""
    return {
        'apiVersion': 'v1',
        'kind': 'Pod',
        'metadata': {
            'namespace': a.namespace,
            'name': f'automation-job-{a.job_id}',
            'labels': {'ansible-awx': 'interop-install', 'ansible-awx-job-id': str(a.job_id)},
        },
        'spec': {
            'serviceAccountName': 'default',
            'automountServiceAccountToken': False,
            'containers': [
                {
                    'image': a.image,
                    'name': 'worker',
                    'args': ['ansible-runner', 'worker', '--private-data-dir=/runner'],
                    'resources': {'requests': {'cpu': '250m', 'memory': '100Mi'}},
                }
            ],
        },
    }


def kubejob(a):
    """A container group job as AWX runs it: a local kubernetes-runtime-auth unit (not signed)
    whose params carry the pod spec and the credential's kubeconfig, the transmit stream as its
    payload, the results into ansible-runner's processor, then the release."""
    ctl = ReceptorControl(a.socket)
    ca_pem = open(a.ca).read() if a.ca else None
    params = {
        'secret_kube_pod': yaml.dump(pod_definition(a), explicit_start=True),
        'pod_pending_timeout': '5m',
        'secret_kube_config': yaml.dump(kube_config(a.host, a.token, ca_pem, a.namespace), explicit_start=True),
    }
    sockin, sockout = socket.socketpair()
    failures = []
    t = threading.Thread(target=transmit, args=(sockin, runner_params(a), failures))
    t.start()
    result = ctl.submit_work(payload=sockout.makefile('rb'), worktype=a.worktype, params=params, signwork=False)
    sockin.close()
    sockout.close()
    t.join()
    if failures:
        raise RuntimeError(f'transmit failed: {failures}')
    submitted(result)
    unit_id = result['unitid']
    processed = process_results(ctl, unit_id, a)
    work_status = wait_done(ctl, unit_id, a.deadline)
    listed = ctl.simple_command('work list').get(unit_id)
    released = ctl.simple_command(f'work release {unit_id}')
    ctl.close()
    return {
        'result': result,
        **processed,
        'workStatus': work_status,
        'listed': listed,
        'released': released,
    }


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest='cmd', required=True)
    for name in ('job', 'cancel', 'info', 'submit', 'reap', 'reap-jobs'):
        s = sub.add_parser(name)
        s.add_argument('--socket', required=True)
        if not name.startswith('reap'):
            s.add_argument('--node', required=name not in ('job', 'cancel'))
            s.add_argument('--worktype', required=True)
            s.add_argument('--sign', action='store_true')
            s.add_argument('--tls-client', help='the tls-client to submit with when the node advertises STREAMTLS')
        s.add_argument('--deadline', type=float, default=90)
        if name == 'submit':
            s.add_argument('--refused', action='store_true', help='expect the submission to be refused')
        if name in ('info', 'submit'):
            s.add_argument('--params', default='--worker-info', help='the runtime params (after `worker`)')
    for name in ('job', 'cancel'):
        j = sub.choices[name]
        j.add_argument('--pdd', required=True)
        j.add_argument('--exec-pdd', required=True)
        j.add_argument('--playbook', required=True)
        j.add_argument('--ident', required=True)
        j.add_argument('--exec-socket', help="also report the execution node's unit status")
    sub.choices['cancel'].add_argument('--task', required=True, help='cancel once this task has started')
    sub.choices['cancel'].add_argument('--wait-file', required=True, help='... and has written this file')
    k = sub.add_parser('kubejob')
    k.add_argument('--socket', required=True)
    k.add_argument('--worktype', default='kubernetes-runtime-auth')
    k.add_argument('--deadline', type=float, default=90)
    k.add_argument('--pdd', required=True)
    k.add_argument('--playbook', required=True)
    k.add_argument('--ident', required=True)
    k.add_argument('--job-id', required=True)
    k.add_argument('--image', required=True)
    k.add_argument('--namespace', required=True)
    k.add_argument('--host', required=True, help="the credential's API server URL")
    k.add_argument('--token', required=True, help="the credential's bearer token")
    k.add_argument('--ca', help="the credential's CA (PEM file); without it, insecure-skip-tls-verify")
    sub.choices['reap'].add_argument('--worktypes', required=True)
    sub.choices['reap-jobs'].add_argument('--units', required=True, help='comma-separated unit IDs')
    a = p.parse_args()
    if a.cmd == 'job':
        out = job(a)
    elif a.cmd == 'cancel':
        out = cancel(a)
    elif a.cmd == 'info':
        out = info(a)
    elif a.cmd == 'submit':
        out = info(a, release=False)
    elif a.cmd == 'kubejob':
        out = kubejob(a)
    elif a.cmd == 'reap':
        out = reap(a)
    else:
        out = reap_jobs(a)
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()

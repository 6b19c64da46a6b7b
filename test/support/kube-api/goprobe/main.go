// goprobe drives the Kubernetes API test server with the real client-go (v0.29.3, the version
// Go receptor v1.4.9 links), calling it the way receptor's pkg/workceptor/kubernetes.go does,
// so the test server can be checked against the official client.
//
// Subcommands (all take --kubeconfig F and --namespace N):
//
//	attach --pod P [--container worker] [--stdout] [--stderr]
//	logs --pod P [--container worker] [--follow] [--timestamps] [--since-time RFC3339]
//	create -f pod.json
//	get --pod P
//	delete --pod P
//	watch-until-running --pod P [--timeout 30s]
//
// Errors go to stderr as "error: <text>"; the exit code is 0 on success, 1 otherwise.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/remotecommand"
	watchtools "k8s.io/client-go/tools/watch"
	"k8s.io/client-go/util/exec"
)

type common struct {
	kubeconfig string
	namespace  string
	pod        string
	container  string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	fs.StringVar(&c.namespace, "namespace", "default", "namespace")
	fs.StringVar(&c.pod, "pod", "", "pod name")
	fs.StringVar(&c.container, "container", "worker", "container name")
}

func (c *common) clients() (*rest.Config, *kubernetes.Clientset, error) {
	// As receptor's kubeconfig auth method: BuildConfigFromFlags with no master URL.
	config, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	clientset, err := kubernetes.NewForConfig(config)
	if err != nil {
		return nil, nil, err
	}
	return config, clientset, nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: goprobe attach|logs|create|get|delete|watch-until-running [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "attach":
		err = attach(os.Args[2:])
	case "logs":
		err = logs(os.Args[2:])
	case "create":
		err = create(os.Args[2:])
	case "get":
		err = get(os.Args[2:])
	case "delete":
		err = del(os.Args[2:])
	case "watch-until-running":
		err = watchUntilRunning(os.Args[2:])
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s\n", err)
		var codeErr exec.CodeExitError
		if errors.As(err, &codeErr) {
			fmt.Fprintf(os.Stderr, "exit code: %d\n", codeErr.Code)
		}
		os.Exit(1)
	}
}

func attach(args []string) error {
	var c common
	fs := flag.NewFlagSet("attach", flag.ExitOnError)
	c.register(fs)
	withStdout := fs.Bool("stdout", false, "also stream the container's stdout to ours")
	withStderr := fs.Bool("stderr", false, "also stream the container's stderr to ours")
	_ = fs.Parse(args)
	config, clientset, err := c.clients()
	if err != nil {
		return err
	}
	// The request receptor builds: POST pods/<name>/attach with PodExecOptions as the parameters.
	req := clientset.CoreV1().RESTClient().Post().Resource("pods").Name(c.pod).Namespace(c.namespace).SubResource("attach")
	req.VersionedParams(&corev1.PodExecOptions{
		Container: c.container,
		Stdin:     true,
		Stdout:    *withStdout,
		Stderr:    *withStderr,
		TTY:       false,
	}, scheme.ParameterCodec)
	executor, err := remotecommand.NewSPDYExecutor(config, "POST", req.URL())
	if err != nil {
		return fmt.Errorf("error creating SPDY executor: %w", err)
	}
	opts := remotecommand.StreamOptions{Stdin: os.Stdin, Tty: false}
	if *withStdout {
		opts.Stdout = os.Stdout
	}
	if *withStderr {
		opts.Stderr = os.Stderr
	}
	return executor.StreamWithContext(context.Background(), opts)
}

func logs(args []string) error {
	var c common
	fs := flag.NewFlagSet("logs", flag.ExitOnError)
	c.register(fs)
	follow := fs.Bool("follow", false, "follow the log")
	timestamps := fs.Bool("timestamps", false, "prefix lines with RFC3339Nano timestamps")
	since := fs.String("since-time", "", "RFC3339 time to start from")
	_ = fs.Parse(args)
	_, clientset, err := c.clients()
	if err != nil {
		return err
	}
	opts := &corev1.PodLogOptions{Container: c.container, Follow: *follow, Timestamps: *timestamps}
	if *since != "" {
		t, err := time.Parse(time.RFC3339Nano, *since)
		if err != nil {
			return fmt.Errorf("bad --since-time: %w", err)
		}
		opts.SinceTime = &metav1.Time{Time: t}
	}
	stream, err := clientset.CoreV1().Pods(c.namespace).GetLogs(c.pod, opts).Stream(context.Background())
	if err != nil {
		return err
	}
	defer stream.Close()
	_, err = io.Copy(os.Stdout, stream)
	return err
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	return enc.Encode(v)
}

func create(args []string) error {
	var c common
	fs := flag.NewFlagSet("create", flag.ExitOnError)
	c.register(fs)
	file := fs.String("f", "", "pod JSON file")
	_ = fs.Parse(args)
	data, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	pod := &corev1.Pod{}
	if err := json.Unmarshal(data, pod); err != nil {
		return err
	}
	_, clientset, err := c.clients()
	if err != nil {
		return err
	}
	created, err := clientset.CoreV1().Pods(c.namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	return printJSON(created)
}

func get(args []string) error {
	var c common
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	c.register(fs)
	_ = fs.Parse(args)
	_, clientset, err := c.clients()
	if err != nil {
		return err
	}
	pod, err := clientset.CoreV1().Pods(c.namespace).Get(context.Background(), c.pod, metav1.GetOptions{})
	if err != nil {
		return err
	}
	return printJSON(pod)
}

func del(args []string) error {
	var c common
	fs := flag.NewFlagSet("delete", flag.ExitOnError)
	c.register(fs)
	_ = fs.Parse(args)
	_, clientset, err := c.clients()
	if err != nil {
		return err
	}
	return clientset.CoreV1().Pods(c.namespace).Delete(context.Background(), c.pod, metav1.DeleteOptions{})
}

var (
	errPodCompleted      = fmt.Errorf("pod ran to completion")
	errPodFailed         = fmt.Errorf("pod failed to start")
	errImagePullBackOff  = fmt.Errorf("container failed to start")
	errNoEventWhileWatch = fmt.Errorf("did not return an event while watching pod")
)

// podRunningAndReady mirrors receptor v1.4.9's completion criterion (kubernetes.go).
func podRunningAndReady() watchtools.ConditionFunc {
	imagePullBackOffRetries := 3
	return func(event watch.Event) (bool, error) {
		if event.Type == watch.Deleted {
			return false, apiNotFound()
		}
		t, ok := event.Object.(*corev1.Pod)
		if !ok {
			return false, nil
		}
		switch t.Status.Phase {
		case corev1.PodFailed:
			return false, errPodFailed
		case corev1.PodSucceeded:
			return false, errPodCompleted
		case corev1.PodRunning, corev1.PodPending:
			for _, cond := range t.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
					return true, nil
				}
				if cond.Type == corev1.ContainersReady && cond.Status == corev1.ConditionFalse {
					for _, st := range t.Status.ContainerStatuses {
						if st.State.Waiting != nil && st.State.Waiting.Reason == "ImagePullBackOff" {
							if imagePullBackOffRetries == 0 {
								return false, errImagePullBackOff
							}
							imagePullBackOffRetries--
						}
					}
				}
			}
		}
		return false, nil
	}
}

func watchUntilRunning(args []string) error {
	var c common
	fs := flag.NewFlagSet("watch-until-running", flag.ExitOnError)
	c.register(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "give up after this long")
	_ = fs.Parse(args)
	_, clientset, err := c.clients()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	fieldSelector := fields.OneTermEqualSelector("metadata.name", c.pod).String()
	lw := &cache.ListWatch{
		ListFunc: func(options metav1.ListOptions) (runtime.Object, error) {
			options.FieldSelector = fieldSelector
			return clientset.CoreV1().Pods(c.namespace).List(ctx, options)
		},
		WatchFunc: func(options metav1.ListOptions) (watch.Interface, error) {
			options.FieldSelector = fieldSelector
			return clientset.CoreV1().Pods(c.namespace).Watch(ctx, options)
		},
	}
	ev, err := watchtools.UntilWithSync(ctx, lw, &corev1.Pod{}, nil, podRunningAndReady())
	if ev == nil || ev.Object == nil {
		if err != nil {
			return fmt.Errorf("%w: %s", errNoEventWhileWatch, err)
		}
		return errNoEventWhileWatch
	}
	if perr := printJSON(ev.Object); perr != nil {
		return perr
	}
	return err
}

func apiNotFound() error {
	return &notFound{gr: schema.GroupResource{Resource: "pods"}}
}

type notFound struct{ gr schema.GroupResource }

func (n *notFound) Error() string { return fmt.Sprintf("%s \"\" not found", n.gr.String()) }

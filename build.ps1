#!/usr/bin/env pwsh
# The one build entry of Forkline: dotnet pwsh ./build.ps1 <step> [arguments for `run`]
#   deps   install missing system packages (apt): clang llvm libbpf-dev bpftool gcc postgresql
#   bpf    compile bpf/*.bpf.c (CO-RE) into artifacts/bpf/
#   build  deps + bpf + dotnet build (Release)
#   test   build + every test project; prints "N passed, N failed[, N skipped]"; non-zero on failure
#   run    build + `forkline run` (the all-in-one node); extra arguments go to forkline
#   bench  build + the benchmarks under bench/ (prints figures)
param(
    [Parameter(Position = 0)]
    [ValidateSet('deps', 'bpf', 'build', 'test', 'run', 'bench')]
    [string] $Step = 'build',
    [Parameter(ValueFromRemainingArguments = $true)]
    [string[]] $Rest = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Artifacts = if ($env:FORKLINE_ARTIFACTS) { $env:FORKLINE_ARTIFACTS } else { Join-Path $Root 'artifacts' }
$BpfOut = Join-Path $Root 'artifacts/bpf'
$Configuration = 'Release'

function Invoke-Native([string] $What, [scriptblock] $Command) {
    & $Command
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)" }
}

function Test-DebInstalled([string] $Package) {
    $status = & dpkg-query -W -f '${Status}' $Package 2>$null
    return $LASTEXITCODE -eq 0 -and $status -like '*install ok installed*'
}

function Invoke-Deps {
    $packages = @('clang', 'llvm', 'libbpf-dev', 'libbpf1', 'bpftool', 'gcc', 'libc6-dev', 'postgresql', 'openssl')
    $missing = @($packages | Where-Object { -not (Test-DebInstalled $_) })
    if ($missing.Count -eq 0) { Write-Host 'deps: all present'; return }
    if ((& id -u) -ne '0') { throw "deps: missing packages $($missing -join ' ') and not root — run: sudo apt-get install -y $($missing -join ' ')" }
    Write-Host "deps: installing $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native 'apt-get update' { apt-get update -qq }
    Invoke-Native 'apt-get install' { apt-get install -y -qq --no-install-recommends @missing }
}

function Invoke-Bpf {
    New-Item -ItemType Directory -Force -Path $BpfOut | Out-Null
    $vmlinuxH = Join-Path $BpfOut 'vmlinux.h'
    if (-not (Test-Path $vmlinuxH)) {
        if (-not (Test-Path /sys/kernel/btf/vmlinux)) {
            throw 'bpf: /sys/kernel/btf/vmlinux is missing: this kernel has no BTF (CONFIG_DEBUG_INFO_BTF=y is required for CO-RE)'
        }
        Invoke-Native 'bpftool btf dump' { bash -c "bpftool btf dump file /sys/kernel/btf/vmlinux format c > '$vmlinuxH.tmp'" }
        Move-Item -Force "$vmlinuxH.tmp" $vmlinuxH
    }
    foreach ($source in Get-ChildItem (Join-Path $Root 'bpf') -Filter '*.bpf.c') {
        $object = Join-Path $BpfOut ($source.BaseName + '.o')
        $header = Join-Path $Root 'bpf/forkline.h'
        $upToDate = (Test-Path $object) -and
            ((Get-Item $object).LastWriteTimeUtc -gt $source.LastWriteTimeUtc) -and
            ((Get-Item $object).LastWriteTimeUtc -gt (Get-Item $header).LastWriteTimeUtc)
        if ($upToDate) { continue }
        Write-Host "bpf: $($source.Name) -> $object"
        Invoke-Native "clang $($source.Name)" {
            clang -O2 -g -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -I $BpfOut -I (Join-Path $Root 'bpf') -c $source.FullName -o $object
        }
    }
}

function Invoke-Build {
    Invoke-Deps
    Invoke-Bpf
    Invoke-Native 'dotnet build' { dotnet build (Join-Path $Root 'Forkline.slnx') -c $Configuration --nologo -v:minimal }
    Invoke-ReadyToRun
}

# The forkline binary is compiled ahead of time (ReadyToRun) over its build output: a node then starts
# without JIT-compiling tens of thousands of methods, which cost seconds of CPU at every start and a
# JIT thread busy for minutes after (issue 10). The tier-1 JIT still recompiles what runs hot.
function Invoke-ReadyToRun {
    $rid = 'linux-' + [System.Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant()
    $output = Join-Path $Artifacts "bin/Forkline/$($Configuration.ToLowerInvariant())"
    Invoke-Native 'dotnet publish (ReadyToRun)' {
        dotnet publish (Join-Path $Root 'src/Forkline/Forkline.csproj') -c $Configuration -r $rid --self-contained false `
            -p:PublishReadyToRun=true -o $output --nologo -v:minimal
    }
}

function Invoke-Test {
    Invoke-Build
    $results = Join-Path $Artifacts 'test-results'
    if (Test-Path $results) { Remove-Item -Recurse -Force $results }
    $projects = Get-ChildItem (Join-Path $Root 'tests') -Recurse -Filter '*.Tests.csproj' | Sort-Object Name
    $passed = 0; $failed = 0; $skipped = 0; $broken = @(); $failedTests = @()
    foreach ($project in $projects) {
        $name = $project.BaseName
        Write-Host "`n=== $name ==="
        & dotnet test $project.FullName -c $Configuration --no-build --nologo `
            --logger "trx;LogFileName=$name.trx" --logger 'console;verbosity=normal' `
            --results-directory $results --blame-hang-timeout 10m
        $exit = $LASTEXITCODE
        $trx = Join-Path $results "$name.trx"
        if (-not (Test-Path $trx)) { $broken += $name; $failed += 1; continue }
        $run = ([xml](Get-Content -Raw $trx)).TestRun
        $counters = $run.ResultSummary.Counters
        # With the first lines of each failure's message: CI keeps only the tail of the output.
        $failedTests += @($run.GetElementsByTagName('UnitTestResult') | Where-Object { $_.outcome -ne 'Passed' -and $_.outcome -ne 'NotExecuted' } | ForEach-Object {
            $message = @($_.GetElementsByTagName('Message'))
            $firstLines = if ($message.Count -gt 0) { (($message[0].InnerText -split "`n" | Select-Object -First 3) -join "`n      ").Trim() } else { 'no message' }
            "$($_.testName) ($($_.outcome))`n      $firstLines"
        })
        $passed += [int]$counters.passed
        $failed += [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
        $skipped += [int]$counters.notExecuted
        if ($exit -ne 0 -and [int]$counters.failed -eq 0) { $broken += $name; $failed += 1 }
    }
    if ($broken.Count -gt 0) { Write-Host "test projects that did not run to completion: $($broken -join ', ')" }
    if ($failedTests.Count -gt 0) { Write-Host "tests that failed:`n  $($failedTests -join "`n  ")" }
    $summary = "$passed passed, $failed failed"
    if ($skipped -gt 0) { $summary += ", $skipped skipped" }
    Write-Host $summary
    if ($failed -gt 0) { exit 1 }
}

function Get-ForklineExe { Join-Path $Artifacts "bin/Forkline/$($Configuration.ToLowerInvariant())/forkline" }

switch ($Step) {
    'deps' { Invoke-Deps }
    'bpf' { Invoke-Bpf }
    'build' { Invoke-Build }
    'test' { Invoke-Test }
    'run' {
        Invoke-Build
        [string[]] $arguments = if ($Rest.Count -gt 0) { $Rest } else { 'run' }
        & (Get-ForklineExe) @arguments
        exit $LASTEXITCODE
    }
    'bench' {
        Invoke-Build
        & dotnet run --project (Join-Path $Root 'bench/Forkline.Benchmarks') -c $Configuration --no-build -- @Rest
        exit $LASTEXITCODE
    }
}

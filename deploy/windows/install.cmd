@echo off
rem Installs toolhelp_exporter.exe (the copy beside this script) as a Windows service that
rem starts with Windows, and starts it (service install waits until it runs).
rem
rem   install.cmd [CONFIG_FILE]
rem
rem Run it from an elevated command prompt ("Run as administrator") after copying this folder
rem to where the program will stay (for example C:\Program Files\toolhelp_exporter): the
rem service runs the .exe from that folder. Without CONFIG_FILE the service runs with the
rem embedded default configuration (see README-windows.txt).
setlocal
set "EXE=%~dp0toolhelp_exporter.exe"
if not exist "%EXE%" (
  echo install.cmd: %EXE% not found; keep this script beside toolhelp_exporter.exe 1>&2
  exit /b 1
)
rem "net session" needs administrator rights: a cheap test for an elevated prompt.
net session >nul 2>&1
if errorlevel 1 (
  echo install.cmd: run this from an elevated command prompt ^(Run as administrator^) 1>&2
  exit /b 1
)

if "%~1"=="" goto install_defaults
if not exist "%~f1" (
  echo install.cmd: configuration file "%~f1" not found 1>&2
  exit /b 1
)
rem Refuse a configuration the service could not start with; check-config names every error.
"%EXE%" check-config "%~f1"
if errorlevel 1 exit /b 1
"%EXE%" service install --start delayed --config.file "%~f1"
if errorlevel 1 exit /b 1
goto installed

:install_defaults
"%EXE%" service install --start delayed
if errorlevel 1 exit /b 1

:installed
"%EXE%" service status
echo.
echo Metrics: http://localhost:9835/metrics (unless the configuration sets another address)
exit /b 0

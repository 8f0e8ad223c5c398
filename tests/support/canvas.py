"""Drawing on the app's canvas with the mouse in a real browser (Playwright)."""


def find_canvas(page, timeout_s=30):
    """The canvas Fabric.js draws on, in the page or in the component's iframe, once it has mounted."""
    for _ in range(timeout_s * 4):
        for frame in page.frames:
            canvas = frame.locator("canvas.upper-canvas")
            if canvas.count():
                return canvas.first
        page.wait_for_timeout(250)
    raise AssertionError("no drawing canvas on the page")


def stroke(page, box, points, steps=12):
    """Press the mouse at the first point (canvas coordinates) and drag it through the others."""
    x0, y0 = box["x"], box["y"]
    page.mouse.move(x0 + points[0][0], y0 + points[0][1])
    page.mouse.down()
    for (xa, ya), (xb, yb) in zip(points, points[1:]):
        for i in range(1, steps + 1):
            page.mouse.move(x0 + xa + (xb - xa) * i / steps, y0 + ya + (yb - ya) * i / steps)
    page.mouse.up()
